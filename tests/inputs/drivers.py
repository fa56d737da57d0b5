"""One driver per transport: how a test points MLE at it (URI and options) and how
the producer (Suricata or its stand-in) sends records over it. The same drivers
feed a source object in-process and a running ``mle run`` process."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import redis as redis_py
import zmq
from input_peers import NatsPublisher, SuricataWriter, spawn_suricata, wait_for


class Driver:
    """A transport as seen by its producer."""

    name = ""
    stream = False  # bytes-stream transport: a writer can vanish in the middle of a record

    def uri(self) -> str:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        return {}

    def ready(self) -> bool:
        """Is MLE listening/subscribed, so that what is sent now arrives?"""
        return True

    def send(self, lines: list[bytes]) -> None:
        raise NotImplementedError

    def send_raw(self, data: bytes) -> None:
        """Exactly these bytes (one message for message transports)."""
        raise NotImplementedError

    def vanish(self, partial: bytes) -> None:
        """A second writer sends half a record and disconnects (stream transports)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class SocketDriver(Driver):
    """unix stream, unix datagram or TCP, written as Suricata writes."""

    def __init__(self, kind: str, target: Path | tuple[str, int], process: bool = False, split: bool = True) -> None:
        self.kind = kind
        self.target = target
        self.process = process
        self.split = split
        self.name = kind
        self.stream = kind != "unix_dgram"
        self.writer = SuricataWriter(kind, target)

    def uri(self) -> str:
        if self.kind == "tcp":
            host, port = self.target  # type: ignore[misc]
            return f"tcp://{host}:{port}"
        return f"{'unix' if self.kind == 'unix_stream' else 'unixgram'}://{self.target}"

    def ready(self) -> bool:
        if self.kind == "tcp":
            return True  # the writer reconnects until the port is open
        return Path(self.target).exists()  # type: ignore[arg-type]

    def send(self, lines: list[bytes]) -> None:
        if self.process:
            self._send_by_process(lines)
            return
        self.writer.connect()
        for index, line in enumerate(lines):
            split = len(line) // 2 if self.split and index % 4 == 1 else None
            assert self.writer.send(line, split_at=split), "record dropped"

    def _send_by_process(self, lines: list[bytes]) -> None:
        path = Path(f"/tmp/mle-records-{os.getpid()}-{id(self)}.json")
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        try:
            if self.kind == "tcp":
                host, port = self.target  # type: ignore[misc]
                target = f"{host}:{port}"
            else:
                target = str(self.target)
            proc = spawn_suricata(self.kind, target, path, split=self.split)
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
            assert int(out) == len(lines)
        finally:
            path.unlink()

    def send_raw(self, data: bytes) -> None:
        self.writer.send_raw(data)

    def vanish(self, partial: bytes) -> None:
        other = SuricataWriter(self.kind, self.target)
        other.connect()
        other.send_raw(partial)
        other.close()

    def close(self) -> None:
        self.writer.close()


class TailDriver(Driver):
    """Suricata's eve.json (filetype: regular), appended to."""

    name = "tail"

    def __init__(self, path: Path) -> None:
        self.path = path

    def uri(self) -> str:
        return f"tail://{self.path}"

    def options(self) -> dict[str, Any]:
        return {"poll_interval": 0.02, "from_start": True}  # no race with the engine's start

    def send(self, lines: list[bytes]) -> None:
        with self.path.open("ab") as f:
            for line in lines:
                f.write(line + b"\n")
                f.flush()

    def send_raw(self, data: bytes) -> None:
        with self.path.open("ab") as f:
            f.write(data)


class RedisDriver(Driver):
    """Suricata's redis eve-log: LPUSH/RPUSH to a list, PUBLISH, or XADD field eve."""

    def __init__(self, client: redis_py.Redis, socket_path: str, mode: str, key: str = "suricata") -> None:
        self.client = client
        self.socket_path = socket_path
        self.mode = mode
        self.key = key
        self.name = f"redis-{mode}"

    def uri(self) -> str:
        return f"redis:///{self.mode}/{self.key}?socket={self.socket_path}"

    def options(self) -> dict[str, Any]:
        return {"claim_idle_ms": 0} if self.mode == "stream" else {}

    def ready(self) -> bool:
        if self.mode == "channel":
            return dict(self.client.pubsub_numsub(self.key)).get(self.key.encode(), 0) > 0
        return True

    def send(self, lines: list[bytes]) -> None:
        for line in lines:  # Suricata sends one command per record (pipelined or not)
            self.send_raw(line)

    def send_raw(self, data: bytes) -> None:
        if self.mode in ("list", "lpush"):
            self.client.lpush(self.key, data)
        elif self.mode == "rpush":
            self.client.rpush(self.key, data)
        elif self.mode == "channel":
            self.client.publish(self.key, data)
        else:
            self.client.xadd(self.key, {"eve": data})


class ZmqDriver(Driver):
    """A PUSH socket connecting to MLE's PULL."""

    name = "zmq"

    def __init__(self, port: int) -> None:
        self.port = port
        self.context = zmq.Context()
        self.sock = self.context.socket(zmq.PUSH)
        self.sock.setsockopt(zmq.LINGER, 2000)
        self.sock.connect(f"tcp://127.0.0.1:{port}")

    def uri(self) -> str:
        return f"zmq+tcp://127.0.0.1:{self.port}"

    def send(self, lines: list[bytes]) -> None:
        for line in lines:
            self.sock.send(line)

    def send_raw(self, data: bytes) -> None:
        self.sock.send(data)

    def close(self) -> None:
        self.sock.close()
        self.context.term()


class NatsDriver(Driver):
    """A NATS publisher on the subject MLE subscribes to."""

    name = "nats"

    def __init__(self, port: int, subject: str = "eve.suricata", monitor_port: int | None = None) -> None:
        self.port = port
        self.subject = subject
        self.monitor_port = monitor_port
        self.publisher: NatsPublisher | None = None

    def uri(self) -> str:
        return f"nats://127.0.0.1:{self.port}/{self.subject}"

    def ready(self) -> bool:
        if self.monitor_port is None:
            return True
        with contextlib.suppress(OSError), urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/connz?subs=1", timeout=2) as reply:
            connections = json.load(reply).get("connections") or []
            return any(self.subject in (c.get("subscriptions_list") or []) for c in connections)
        return False

    def _pub(self) -> NatsPublisher:
        if self.publisher is None:
            self.publisher = NatsPublisher(self.port)
        return self.publisher

    def send(self, lines: list[bytes]) -> None:
        self._pub().publish(self.subject, lines)
        self._pub().flush()

    def send_raw(self, data: bytes) -> None:
        self.send([data])

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()


def wait_ready(driver: Driver, engine: subprocess.Popen | None = None, timeout: float = 15.0) -> None:
    def check() -> bool:
        if engine is not None and engine.poll() is not None:
            _, err = engine.communicate()
            raise AssertionError(f"mle run exited with {engine.returncode}: {err.decode()[-2000:]}")
        return driver.ready()

    wait_for(check, timeout, 0.02, f"{driver.name} input to be ready")
