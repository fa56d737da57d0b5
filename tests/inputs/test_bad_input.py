"""Bad input on every transport, through the real worker: garbage, invalid UTF-8, a
50 KB line over max_line_bytes, a JSON non-object and a writer vanishing mid-record
are each counted by reason and dead-lettered, and the records after them arrive."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from drivers import Driver, NatsDriver, RedisDriver, SocketDriver, TailDriver, ZmqDriver, wait_ready
from input_peers import collect, free_port, records

TRANSPORTS = ["unix_stream", "unix_dgram", "tcp", "tail", "redis-list", "redis-rpush", "redis-channel",
              "redis-stream", "zmq", "nats"]

CONFIG = """
inputs = {{ {{ tag = "eve", uri = "{uri}", default_analyzer = "tagger", max_line_bytes = 1024 }} }}
analyzers = {{ {{ tag = "tagger", script = "tagger.lua", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
"""
TAGGER = 'function loop(msg) msg.via = "tagger"; dragonfly.output_event(default_output, msg) end\n'


def make_driver(name: str, short_dir: Path, request: pytest.FixtureRequest) -> Driver:
    if name == "unix_stream":
        return SocketDriver("unix_stream", short_dir / "eve.sock")
    if name == "unix_dgram":
        return SocketDriver("unix_dgram", short_dir / "eve.sock")
    if name == "tcp":
        return SocketDriver("tcp", ("127.0.0.1", free_port()))
    if name == "tail":
        return TailDriver(short_dir / "eve.json")
    if name.startswith("redis-"):
        server = request.getfixturevalue("redis_server")
        return RedisDriver(request.getfixturevalue("redis_client"), server.unix_socket, name.partition("-")[2])
    if name == "zmq":
        return ZmqDriver(free_port())
    return NatsDriver(request.getfixturevalue("nats_server").port)


@pytest.fixture(params=TRANSPORTS)
def driver(request: pytest.FixtureRequest, short_dir: Path):
    made = make_driver(request.param, short_dir, request)
    yield made
    made.close()


def test_bad_input_is_counted_dead_lettered_and_the_input_keeps_going(driver: Driver, make_source, make_root,
                                                                       harness) -> None:
    root = make_root(CONFIG.format(uri=driver.uri()), analyzers={"tagger.lua": TAGGER})
    worker = harness(root)
    source = make_source(driver.uri(), max_line_bytes=1024, **driver.options())
    wait_ready(driver)
    end = b"\n" if driver.stream or driver.name == "tail" else b""
    bad = [b"\x00\x01\x02 control-character garbage", b"\xde\xad\xbe\xef binary garbage",
           b'{"event_type":"dns","q":"\xff\xfe"}',
           b'{"event_type":"dns","big":"' + b"J" * 50_000 + b'"}', b"[1, 2, 3]"]
    for data in bad:
        driver.send_raw(data + end)
    if driver.stream:
        driver.vanish(b'{"event_type":"dns","seq":')
    good = records(5)
    driver.send(good)
    lines = collect(source, len(bad) + len(good) + driver.stream)
    worker.push(lines)

    expected = Counter({"not_json": 1 + driver.stream, "not_utf8": 2, "too_large": 1, "not_object": 1})
    assert Counter({reason: n for (_, reason), n in worker.worker.rejected.items()}) == expected
    assert Counter(entry["reason"] for entry in worker.dead()) == expected
    events = worker.events("out")
    assert sorted(e["seq"] for e in events) == [0, 1, 2, 3, 4]
    assert all(e["via"] == "tagger" for e in events)
    if driver.stream:
        assert source.stats.errors["partial_line_at_disconnect"] == 1
