"""``tcp://host:port``: newline-delimited EVE over TCP from forwarders."""

from __future__ import annotations

import socket
import threading

import orjson
import pytest
from input_peers import SuricataWriter, collect, drain, records

from mle.errors import ConfigError


def test_many_writers_split_records_and_reconnects(make_source) -> None:
    source = make_source("tcp://127.0.0.1:0")
    assert source.port > 0
    target = ("127.0.0.1", source.port)

    def write(n: int) -> None:
        writer = SuricataWriter("tcp", target)
        for half in range(2):  # disconnect and reconnect in the middle
            writer.connect()
            for i, record in enumerate(records(100, start=n * 1000 + half * 100)):
                writer.send(record, split_at=5 if i % 5 == 0 else None)
            writer.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    lines = collect(source, 800)
    for thread in threads:
        thread.join()
    assert drain(source) == []
    assert sorted(orjson.loads(x)["seq"] for x in lines) == sorted(n * 1000 + i for n in range(4) for i in range(200))
    assert source.connections_total == 8
    assert not source.stats.errors


def test_writer_vanishing_mid_record(make_source) -> None:
    source = make_source("tcp://127.0.0.1:0", max_line_bytes=1024)
    target = ("127.0.0.1", source.port)
    writer = SuricataWriter("tcp", target)
    writer.send_raw(b'{"cut":"here')
    writer.close()
    other = SuricataWriter("tcp", target)
    other.send_raw(b"\xff\xfe garbage\n" + b"E" * 5000 + b"\n")
    other.send(records(1)[0])
    lines = collect(source, 4)  # order across writers is not defined, within one writer it is
    assert b'{"cut":"here' in lines
    mine = [x for x in lines if x != b'{"cut":"here']
    assert mine[0] == b"\xff\xfe garbage"
    assert mine[1] == b"E" * 1025
    assert orjson.loads(mine[2])["seq"] == 0
    assert source.stats.errors["partial_line_at_disconnect"] == 1


def test_ipv6_loopback(make_source) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        source = make_source("tcp://[::1]:0")
    except OSError as exc:
        pytest.skip(f"IPv6 loopback unavailable: {exc}")
    with socket.create_connection(("::1", source.port)) as sock:
        sock.sendall(records(1)[0] + b"\n")
        assert len(collect(source, 1)) == 1
    assert source.description == f"tcp://[::1]:{source.port}"


def test_port_in_use_names_the_entry(make_source) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        with pytest.raises(OSError, match=r'inputs\[1\] \(tag "eve"\): cannot listen on tcp://127.0.0.1:\d+'):
            make_source(f"tcp://127.0.0.1:{busy.getsockname()[1]}")
    finally:
        busy.close()


@pytest.mark.parametrize("uri", ["tcp://127.0.0.1", "tcp://127.0.0.1:http", "tcp://127.0.0.1:70000"])
def test_bad_address_is_a_config_error(make_source, uri: str) -> None:
    with pytest.raises(ConfigError, match="needs host:port"):
        make_source(uri, open=False)
