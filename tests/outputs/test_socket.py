"""unix://, ipc:// (datagram) and tcp:// outputs against real listening sockets:
lazy connect, reconnect, bounded buffer (block or drop), datagram size limit."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import orjson
import pytest

from mle.connectors import Context, build_sink
from mle.errors import ConfigError
from tests.conftest import DATA, run_mle
from tests.outputs.helpers import DatagramServer, StreamServer, dead_letters, docs, wait_for

FAST = {"reconnect_initial": 0.02, "reconnect_max": 0.1}


def sink_for(ctx: Context, uri: str, **options: object):
    sink = build_sink("s", uri, {**FAST, **options}, 'outputs[1] (tag "s")', ctx)
    sink.open()
    return sink


@pytest.fixture(params=["tcp", "unix"])
def stream(request, ctx: Context):
    """(server, uri) for a TCP or unix stream peer."""
    if request.param == "tcp":
        server = StreamServer()
        uri = f"tcp://127.0.0.1:{server.port}"
    else:
        server = StreamServer(socket.AF_UNIX, ctx.run_dir / "eve.sock")
        uri = "unix://eve.sock"  # relative: under the run directory
    yield server, uri
    server.close()


def test_stream_delivers_every_line_in_order(ctx: Context, stream):
    server, uri = stream
    sink = sink_for(ctx, uri)
    for i in range(20):
        sink.write_batch(docs(50, start=50 * i))
    assert sink.flush(10)
    sink.close()
    wait_for(lambda: len(server.lines) == 1000, what="1000 lines at the peer")
    assert server.lines == docs(1000)
    assert dead_letters(ctx) == []


def test_stream_reconnects_after_the_peer_closes(ctx: Context, stream):
    server, uri = stream
    sink = sink_for(ctx, uri)
    sink.write_batch(docs(10))
    wait_for(lambda: len(server.lines) == 10, what="first batch")
    server.drop_connections()  # the peer restarts
    wait_for(lambda: len(server.connections) == 1 and sink.flush(0), what="flushed")
    sink.write_batch(docs(10, start=10))
    wait_for(lambda: len(server.lines) == 20, what="second batch on a new connection")
    sink.close()
    assert len(server.connections) == 2
    assert server.lines == docs(20)
    assert sink.counts["connections"] == 2


def test_peer_absent_at_start_then_present(ctx: Context, tmp_path: Path):
    path = ctx.run_dir / "late.sock"
    sink = sink_for(ctx, f"unix://{path}")
    sink.write_batch(docs(5))
    wait_for(lambda: sink.counts["connect_failed"] >= 2, what="failed connection attempts")
    server = StreamServer(socket.AF_UNIX, path)
    try:
        sink.write_batch(docs(5, start=5))
        wait_for(lambda: len(server.lines) == 10, what="buffered lines after the peer came")
        sink.close()
        assert server.lines == docs(10)
    finally:
        server.close()


def test_full_buffer_blocks_until_the_peer_comes(ctx: Context):
    path = ctx.run_dir / "slow.sock"
    sink = sink_for(ctx, f"unix://{path}", buffer_bytes=2000)
    sink.write_batch(docs(40))  # ~1400 bytes: fits
    writer = threading.Thread(target=sink.write_batch, args=(docs(40, start=40),))
    writer.start()
    writer.join(0.5)
    assert writer.is_alive(), "write_batch returned although the buffer is full"
    server = StreamServer(socket.AF_UNIX, path)
    try:
        writer.join(10)
        assert not writer.is_alive()
        wait_for(lambda: len(server.lines) == 80, what="all 80 lines")
        sink.close()
        assert server.lines == docs(80)
        assert dead_letters(ctx) == []
    finally:
        server.close()


def test_drop_policy_counts_and_dead_letters(ctx: Context):
    sink = sink_for(ctx, f"tcp://127.0.0.1:{_closed_port()}", buffer_bytes=2000, overflow="drop",
                    close_timeout=0.2)
    sink.write_batch(docs(40))
    sink.write_batch(docs(40, start=40))  # does not fit: dropped to the dead-letter file
    assert sink.counts["dropped_buffer_full"] == 40
    sink.close()  # the first batch never left: dead-lettered at shutdown
    dead = dead_letters(ctx)
    by_reason: dict[str, list[int]] = {}
    for entry in dead:
        by_reason.setdefault(entry["reason"], []).append(orjson.loads(entry["line"])["n"])
    assert sorted(by_reason["buffer_full"]) == list(range(40, 80))
    assert sorted(by_reason["undelivered_at_shutdown"]) == list(range(40))
    assert all(d["source"] == "output s" for d in dead)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens there once closed


def test_datagram_one_document_per_datagram_and_too_big_ones_dead_lettered(ctx: Context):
    server = DatagramServer(ctx.run_dir / "dgram.sock")
    try:
        sink = sink_for(ctx, "ipc://dgram.sock")
        big = orjson.dumps({"n": 999, "pad": "x" * 400_000})
        sink.write_batch([*docs(3), big, *docs(3, start=3)])
        assert sink.flush(10)
        sink.close()
        wait_for(lambda: len(server.datagrams) == 6, what="6 datagrams")
        assert server.datagrams == docs(6)
        dead = dead_letters(ctx)
        assert [d["reason"] for d in dead] == ["too_big"]
        assert dead[0]["bytes"] == len(big) and "datagram" in dead[0]["detail"]
    finally:
        server.close()


def test_datagram_receiver_full_blocks_then_drains(ctx: Context):
    server = DatagramServer(ctx.run_dir / "full.sock")
    server.reading.clear()  # a receiver that stopped reading
    try:
        sink = sink_for(ctx, "unixgram://full.sock")
        lines = docs(2000, pad=200)
        sink.write_batch(lines)
        wait_for(lambda: sink.pending_bytes > 0 and not sink.flush(0.2), what="a stalled sender")
        server.reading.set()
        assert sink.flush(20)
        sink.close()
        wait_for(lambda: len(server.datagrams) == 2000, what="every datagram")
        assert server.datagrams == lines
    finally:
        server.close()


def test_undelivered_at_shutdown_are_dead_lettered(ctx: Context):
    sink = sink_for(ctx, "unix://nobody.sock", close_timeout=0.3)
    sink.write_batch(docs(7))
    sink.close()
    dead = dead_letters(ctx)
    assert [orjson.loads(d["line"])["n"] for d in dead] == list(range(7))
    assert {d["reason"] for d in dead} == {"undelivered_at_shutdown"}
    assert "nobody.sock" in dead[0]["detail"]


@pytest.mark.parametrize(("uri", "options", "message"), [
    ("tcp://localhost", {}, "needs host:port"),
    ("tcp://h:99999", {}, "not a port"),
    ("tcp://h:1", {"overflow": "lose"}, '"overflow" must be'),
    ("tcp://h:1", {"buffer": 5}, 'did you mean "buffer_bytes"'),
])
def test_bad_configuration(ctx: Context, uri: str, options: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        build_sink("s", uri, options, 'outputs[1] (tag "s")', ctx)


CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://unused", default_analyzer = "pass" }} }}
analyzers = {{ {{ tag = "pass", script = "pass.lua", default_analyzer = "", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "{uri}" }} }}
"""
PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"


@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_through_the_engine(make_root, tmp_path: Path, kind: str):
    sample = DATA / "verify-sample.eve.json.gz"
    if kind == "tcp":
        server = StreamServer()
        uri = f"tcp://127.0.0.1:{server.port}"
    else:
        server = DatagramServer(tmp_path / "in.sock")
        uri = f"ipc://{tmp_path / 'in.sock'}"
    try:
        root = make_root(CONFIG.format(uri=uri), analyzers={"pass.lua": PASS})
        result = run_mle("replay", str(sample), "-r", str(root))
        assert result.returncode == 0, result.stderr.decode()
        received = server.lines if kind == "tcp" else server.datagrams
        wait_for(lambda: len(received) >= 1080, what="1080 records at the peer")
        assert len(received) == 1080
        assert {orjson.loads(r)["timestamp"] for r in received} >= {"2025-01-29T18:38:00.235737+0000"}
    finally:
        server.close()
