"""Every transport through the real engine: ``mle run`` in its own process, a real
producer (a fake Suricata process, redis-server, nats-server ...), SIGTERM, then the
output must hold every event exactly once with the analyzer's annotation."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from drivers import Driver, NatsDriver, RedisDriver, SocketDriver, TailDriver, ZmqDriver, wait_ready
from input_peers import NatsServerProcess, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
CONFIG = """
inputs = {{ {{ tag = "eve", uri = "{uri}", script = "filter.lua", default_analyzer = "tagger"{options} }} }}
analyzers = {{ {{ tag = "tagger", script = "tagger.lua", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
mle = {{ run_dir = "{run_dir}", stats_interval = 3600 }}
"""
TAGGER = 'function loop(msg) msg.via = "tagger"; dragonfly.output_event(default_output, msg) end\n'
FILTER = 'function loop(msg) if msg ~= nil then dragonfly.analyze_event(default_analyzer, msg) end end\n'
COUNT = 300


class FileDriver(Driver):
    """file:// in ``mle run``: written before the start, appended to while running."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def uri(self) -> str:
        return f"file://{self.path}"

    def send(self, lines: list[bytes]) -> None:
        with self.path.open("ab") as f:
            f.write(b"".join(line + b"\n" for line in lines))


class StdinDriver(Driver):
    """stdin:// fed through a pipe; the engine ends by itself at end of file."""

    name = "stdin"
    engine: subprocess.Popen | None = None

    def uri(self) -> str:
        return "stdin://"

    def send(self, lines: list[bytes]) -> None:
        assert self.engine is not None and self.engine.stdin is not None
        self.engine.stdin.write(b"".join(line + b"\n" for line in lines))
        self.engine.stdin.close()
        self.engine.stdin = None  # communicate() must not touch it again


TRANSPORTS = ["unix_stream", "unix_dgram", "tcp", "tail", "file", "stdin", "redis-list", "redis-rpush",
              "redis-channel", "redis-stream", "zmq", "nats"]


@pytest.fixture(params=TRANSPORTS)
def driver(request: pytest.FixtureRequest, short_dir: Path) -> Iterator[Driver]:
    name = request.param
    server = None
    if name in ("unix_stream", "unix_dgram"):
        made: Driver = SocketDriver(name, short_dir / "eve.sock", process=True)
    elif name == "tcp":
        made = SocketDriver("tcp", ("127.0.0.1", free_port()), process=True)
    elif name == "tail":
        made = TailDriver(short_dir / "eve.json")
    elif name == "file":
        made = FileDriver(short_dir / "eve.json")
    elif name == "stdin":
        made = StdinDriver()
    elif name.startswith("redis-"):
        address = request.getfixturevalue("redis_server")
        made = RedisDriver(request.getfixturevalue("redis_client"), address.unix_socket, name.partition("-")[2])
    elif name == "zmq":
        made = ZmqDriver(free_port())
    else:
        monitor = free_port()
        server = NatsServerProcess(request.getfixturevalue("nats_binary"), extra=["-m", str(monitor)]).start()
        made = NatsDriver(server.port, monitor_port=monitor)
    yield made
    made.close()
    if server is not None:
        server.stop()


def stop_engine(engine: subprocess.Popen) -> None:
    """After a failure: SIGTERM, then SIGKILL to the engine's whole process group (its
    source, worker and sink processes would outlive a killed supervisor)."""
    if engine.poll() is None:
        engine.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            engine.communicate(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(engine.pid, signal.SIGKILL)
    engine.wait()


def canonical(event: dict) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def lua_options(options: dict) -> str:
    return "".join(f", {k} = {orjson.dumps(v).decode()}" for k, v in options.items())


def test_every_event_exactly_once_through_mle_run(driver: Driver, make_root, short_dir: Path,
                                                  sample_records: list[bytes]) -> None:
    root = make_root(CONFIG.format(uri=driver.uri(), options=lua_options(driver.options()), run_dir=short_dir / "run"),
                     inputs={"filter.lua": FILTER}, analyzers={"tagger.lua": TAGGER})
    out = root / "var" / "log" / "out.json"
    sent = sample_records[:COUNT]
    engine = subprocess.Popen([sys.executable, "-m", "mle", "run", "-r", str(root)], cwd=REPO,
                              stdin=subprocess.PIPE if driver.name == "stdin" else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "COLUMNS": "200"}, start_new_session=True)
    try:
        if isinstance(driver, StdinDriver):
            driver.engine = engine
        wait_ready(driver, engine)
        driver.send(sent)

        def written() -> int:
            if engine.poll() is not None and driver.name != "stdin":
                raise AssertionError(f"mle run exited early: {engine.communicate()[1].decode()[-2000:]}")
            return out.exists() and out.read_bytes().count(b"\n") >= COUNT

        wait_for(written, 30, 0.05, f"{COUNT} events in {out}")
        if driver.name != "stdin":  # stdin ends the engine by itself at end of file
            engine.send_signal(signal.SIGTERM)
        _, err = engine.communicate(timeout=30)
    finally:
        stop_engine(engine)
    assert engine.returncode == 0, err.decode()[-3000:]
    got = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert all(event.pop("via") == "tagger" for event in got)
    assert len(got) == COUNT
    # workers run in parallel (events are sharded by flow): compare as multisets
    assert sorted(map(canonical, got)) == sorted(canonical(orjson.loads(line)) for line in sent)
    assert f"input  eve: {COUNT:,} lines" in err.decode()
    if isinstance(driver, RedisDriver) and driver.mode == "stream":
        assert driver.client.xpending(driver.key, "mle")["pending"] == 0
    if isinstance(driver, SocketDriver) and driver.kind != "tcp":
        assert not Path(driver.target).exists(), "the socket file is removed at exit"
