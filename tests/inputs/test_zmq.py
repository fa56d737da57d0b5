"""``zmq+tcp://`` / ``zmq+ipc://``: PULL (bind or connect) and SUB, with real pyzmq peers."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import zmq
from input_peers import assert_close_ends_a_blocked_read, collect, drain, free_port, records

from mle.errors import ConfigError


@pytest.fixture
def zmq_context() -> Iterator[zmq.Context]:
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def seqs(lines: list[bytes]) -> list[int]:
    return [orjson.loads(x)["seq"] for x in lines]


def test_pull_bind_many_pushers(make_source, zmq_context) -> None:
    source = make_source("zmq+tcp://127.0.0.1:0")
    assert source.address.startswith("tcp://127.0.0.1:")
    pushers = []
    for n in range(3):
        push = zmq_context.socket(zmq.PUSH)
        push.connect(source.address)
        pushers.append(push)
        for record in records(100, start=n * 1000):
            push.send(record)
    lines = collect(source, 300)
    assert sorted(seqs(lines)) == sorted(n * 1000 + i for n in range(3) for i in range(100))
    assert source.messages == 300
    for push in pushers:
        push.close(0)


def test_pull_connect_to_a_binding_producer(make_source, zmq_context) -> None:
    port = free_port()
    push = zmq_context.socket(zmq.PUSH)
    push.bind(f"tcp://127.0.0.1:{port}")
    source = make_source(f"zmq+tcp://127.0.0.1:{port}", bind=False)
    for record in records(50):
        push.send(record)
    assert seqs(collect(source, 50)) == list(range(50))
    push.close(0)


def test_ipc_relative_to_run_dir_and_multi_record_messages(make_source, zmq_context, context) -> None:
    source = make_source("zmq+ipc://eve.ipc")
    assert source.address == f"ipc://{context.run_dir / 'eve.ipc'}"
    push = zmq_context.socket(zmq.PUSH)
    push.connect(source.address)
    push.send(b"\n".join(records(3)) + b"\n")  # one message, three records
    push.send(records(1, start=3)[0])
    assert seqs(collect(source, 4)) == [0, 1, 2, 3]
    push.close(0)


def test_sub_with_topic_frames(make_source, zmq_context) -> None:
    source = make_source("zmq+tcp://127.0.0.1:0", socket="sub", topic="eve")
    pub = zmq_context.socket(zmq.PUB)
    pub.connect(source.address)

    def publish_until_received() -> list[bytes]:  # PUB/SUB joins asynchronously ("slow joiner")
        for _ in range(200):
            pub.send_multipart([b"eve", records(1, start=999)[0]])
            batch = source.read_batch(256, 0.01)
            if batch.lines:
                return batch.lines
        raise AssertionError("the subscription never joined")

    publish_until_received()
    drain(source, 0.1)
    pub.send_multipart([b"other", records(1, start=1)[0]])
    pub.send_multipart([b"eve", records(1, start=2)[0]])
    pub.send(b"eve " + records(1, start=3)[0])  # single frame with the topic in front
    assert seqs(collect(source, 2)) == [2, 3]
    assert drain(source, 0.1) == []
    pub.close(0)


def test_garbage_and_over_long_messages(make_source, zmq_context) -> None:
    source = make_source("zmq+tcp://127.0.0.1:0", max_line_bytes=1024)
    push = zmq_context.socket(zmq.PUSH)
    push.connect(source.address)
    push.send(b"\x00\xff binary")
    push.send(b"G" * 50_000)
    push.send(records(1)[0])
    lines = collect(source, 3)
    assert lines[0] == b"\x00\xff binary" and len(lines[1]) == 1025 and seqs(lines[2:]) == [0]
    push.close(0)


def test_bind_failure_names_the_entry(make_source, zmq_context) -> None:
    taken = zmq_context.socket(zmq.PULL)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    with pytest.raises(OSError, match=r'inputs\[1\] \(tag "eve"\): cannot bind tcp://127.0.0.1:\d+'):
        make_source(f"zmq+tcp://127.0.0.1:{port}")
    taken.close(0)


@pytest.mark.parametrize(("uri", "options", "message"), [
    ("zmq+tcp://127.0.0.1", {}, "needs host:port"),
    ("zmq+tcp://127.0.0.1:5555", {"socket": "push"}, '"socket" must be "pull" or "sub"'),
])
def test_config_errors(make_source, uri: str, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_source(uri, open=False, **options)


def test_close_is_prompt(make_source) -> None:
    assert_close_ends_a_blocked_read(make_source("zmq+tcp://127.0.0.1:0"))

