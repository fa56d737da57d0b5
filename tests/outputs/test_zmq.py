"""zmq+tcp:// and zmq+ipc:// outputs with real ZeroMQ peers: PUB to SUB with a
topic, PUSH to PULL with backpressure, and counted drops for a slow subscriber."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import zmq

from mle.connectors import Context, build_sink
from mle.errors import ConfigError
from tests.conftest import DATA, run_mle
from tests.outputs.helpers import docs, free_port, wait_for


def zmq_sink(ctx: Context, uri: str, **options: object):
    sink = build_sink("z", uri, {"close_timeout": 2.0, **options}, 'outputs[1] (tag "z")', ctx)
    sink.open()
    return sink


@pytest.fixture
def zctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def _subscribed(sink, sub: zmq.Socket) -> None:
    """Publish probes until the subscriber gets one (ZeroMQ's slow joiner), then drain."""
    def probe() -> bool:
        sink.write_batch([b'{"probe":1}'])
        return bool(sub.poll(50))
    wait_for(probe, what="subscription to reach the publisher")
    while sub.poll(50):
        sub.recv_multipart()


def test_pub_with_topic_to_sub(ctx: Context, zctx: zmq.Context):
    sink = zmq_sink(ctx, "zmq+tcp://127.0.0.1:0", topic="eve")
    sub = zctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"eve")
    sub.connect(sink.address)
    _subscribed(sink, sub)
    sink.write_batch(docs(100))
    frames = [sub.recv_multipart() for _ in range(100)]
    sink.close()
    assert all(f[0] == b"eve" for f in frames)
    assert [f[1] for f in frames] == docs(100)


def test_push_connects_and_blocks_without_a_consumer(ctx: Context, zctx: zmq.Context, tmp_path: Path):
    address = f"ipc://{tmp_path / 'pull.sock'}"
    sink = zmq_sink(ctx, f"zmq+ipc://{tmp_path / 'pull.sock'}", socket="push", hwm=10)
    writer = threading.Thread(target=sink.write_batch, args=(docs(50),))
    writer.start()
    writer.join(0.5)
    assert writer.is_alive(), "PUSH without a consumer must wait (backpressure)"
    pull = zctx.socket(zmq.PULL)
    pull.bind(address)
    received = [pull.recv() for _ in range(50)]
    writer.join(10)
    assert not writer.is_alive()
    sink.close()
    assert received == docs(50)
    assert sink.counts["waits"] >= 1


def test_pub_counts_what_a_slow_subscriber_loses(ctx: Context, zctx: zmq.Context):
    sink = zmq_sink(ctx, "zmq+tcp://127.0.0.1:0", hwm=10)
    sub = zctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 10)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(sink.address)
    _subscribed(sink, sub)
    lines = docs(5000, pad=500)
    before = sink.stats.lines  # the probes
    sink.write_batch(lines)  # the subscriber reads nothing meanwhile
    dropped = sink.counts["dropped_slow_subscriber"]
    assert dropped > 0
    received = []
    while sub.poll(200):
        received.append(sub.recv())
    sink.close()
    assert len(received) + dropped == len(lines)
    assert sink.stats.lines - before == len(lines) - dropped


def test_pub_block_policy_loses_nothing(ctx: Context, zctx: zmq.Context):
    sink = zmq_sink(ctx, "zmq+tcp://127.0.0.1:0", hwm=10, on_slow="block")
    sub = zctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 10)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(sink.address)
    _subscribed(sink, sub)
    lines = docs(3000, pad=500)
    writer = threading.Thread(target=sink.write_batch, args=(lines,))
    writer.start()
    received = [sub.recv() for _ in range(len(lines))]
    writer.join(10)
    sink.close()
    assert received == lines
    assert sink.counts["dropped_slow_subscriber"] == 0


@pytest.mark.parametrize(("options", "message"), [
    ({"socket": "req"}, '"socket" must be'),
    ({"socket": "push", "topic": "x"}, '"pub" only'),
    ({"socket": "push", "on_slow": "drop"}, '"pub" only'),
])
def test_bad_configuration(ctx: Context, options: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        build_sink("z", "zmq+tcp://127.0.0.1:5556", options, "outputs[1]", ctx)


CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://unused", default_analyzer = "pass" }} }}
analyzers = {{ {{ tag = "pass", script = "pass.lua", default_analyzer = "", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "zmq+tcp://127.0.0.1:{port}", socket = "push" }} }}
"""
PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"


def test_through_the_engine_push_to_pull(make_root, zctx: zmq.Context):
    port = free_port()
    pull = zctx.socket(zmq.PULL)
    pull.bind(f"tcp://127.0.0.1:{port}")
    root = make_root(CONFIG.format(port=port), analyzers={"pass.lua": PASS})
    result = run_mle("replay", str(DATA / "verify-sample.eve.json.gz"), "-r", str(root))
    assert result.returncode == 0, result.stderr.decode()
    received = []
    while pull.poll(500):
        received.append(pull.recv())
    assert len(received) == 1080
