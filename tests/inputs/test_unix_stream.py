"""``unix://``: Suricata's unix_stream eve-log, with real sockets and Suricata-like writers."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from pathlib import Path

import orjson
import pytest
from input_peers import SuricataWriter, assert_close_ends_a_blocked_read, collect, drain, records, wait_for

from mle.errors import ConfigError


def test_many_concurrent_writers_every_record_once_in_order_per_writer(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unix://{path}")
    writers, per_writer = 8, 300

    def write(n: int) -> None:
        writer = SuricataWriter("unix_stream", path)
        writer.connect()
        for i, record in enumerate(records(per_writer, start=n * 10_000)):
            assert writer.send(record, split_at=len(record) // 3 if i % 7 == 0 else None)
        writer.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    lines = collect(source, writers * per_writer)
    for thread in threads:
        thread.join()
    assert drain(source) == []
    seqs = [orjson.loads(line)["seq"] for line in lines]
    assert sorted(seqs) == sorted(n * 10_000 + i for n in range(writers) for i in range(per_writer))
    for n in range(writers):
        mine = [s for s in seqs if s // 10_000 == n]
        assert mine == sorted(mine), "records of one writer must stay in order"
    assert source.connections_total == writers
    assert source.stats.lines == writers * per_writer
    assert source.stats.bytes == sum(len(r) + 1 for n in range(writers) for r in records(per_writer, n * 10_000))
    assert not source.stats.errors


def test_writer_that_reconnects_keeps_delivering(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unix://{path}")
    writer = SuricataWriter("unix_stream", path)
    writer.connect()
    for record in records(10):
        writer.send(record)
    assert len(collect(source, 10)) == 10
    writer.close()
    wait_for(lambda: drain(source, 0.05) == [] and source.writers == 0, what="the disconnect")
    writer.connect()
    for record in records(10, start=10):
        writer.send(record)
    lines = collect(source, 10)
    assert [orjson.loads(x)["seq"] for x in lines] == list(range(10, 20))
    assert source.connections_total == 2
    assert not source.stats.errors


def test_suricata_reconnects_after_mle_restarts(make_source, short_dir: Path) -> None:
    """The listener goes away and comes back: Suricata's writer finds it again."""
    path = short_dir / "eve.sock"
    first = make_source(f"unix://{path}")
    writer = SuricataWriter("unix_stream", path)
    writer.connect()
    assert writer.send(records(1)[0])
    assert len(collect(first, 1)) == 1
    first.close()
    assert not path.exists()
    # Suricata keeps writing while nobody listens: the record is dropped (its choice), no hang
    for record in records(3, start=1):
        writer.send(record)
    second = make_source(f"unix://{path}")
    wait_for(lambda: writer.send(records(1, start=100)[0]), timeout=5, interval=0.1, what="a reconnect")
    assert orjson.loads(collect(second, 1)[-1])["seq"] == 100


def test_writer_vanishing_mid_record_is_counted_and_passed_on(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unix://{path}")
    steady = SuricataWriter("unix_stream", path)
    steady.connect()
    steady.send(records(1)[0])
    vanishing = SuricataWriter("unix_stream", path)
    vanishing.connect()
    vanishing.send_raw(b'{"event_type":"flow","seq":1')  # and gone
    vanishing.close()
    steady.send(records(1, start=2)[0])
    lines = collect(source, 3)
    assert b'{"event_type":"flow","seq":1' in lines
    assert source.stats.errors["partial_line_at_disconnect"] == 1
    assert [orjson.loads(x)["seq"] for x in lines if x.endswith(b"}")] == [0, 2]


def test_over_long_line_is_cut_and_the_next_record_survives(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unix://{path}", max_line_bytes=1024)
    writer = SuricataWriter("unix_stream", path)
    writer.connect()
    writer.send_raw(b'{"big":"' + b"A" * 50_000 + b'"}\n')
    writer.send(records(1)[0])
    lines = collect(source, 2)
    assert len(lines[0]) == 1025 and lines[0].startswith(b'{"big":"AAA')
    assert orjson.loads(lines[1])["seq"] == 0


@pytest.mark.slow
def test_fifty_megabyte_line(make_source, short_dir: Path) -> None:
    """A real 50 MB line at the default max_line_bytes (1 MiB): cut, skipped, no memory blow-up."""
    path = short_dir / "eve.sock"
    source = make_source(f"unix://{path}")

    def write() -> None:
        writer = SuricataWriter("unix_stream", path)
        writer.connect()
        writer.send_raw(b'{"huge":"' + b"B" * (50 << 20) + b'"}\n')
        writer.send(records(1)[0])
        writer.close()

    thread = threading.Thread(target=write)
    thread.start()
    lines = collect(source, 2, timeout=60)
    thread.join()
    assert len(lines[0]) == (1 << 20) + 1
    assert orjson.loads(lines[1])["seq"] == 0
    assert source.stats.bytes > 50 << 20


def test_socket_file_permissions_and_cleanup(make_source, short_dir: Path) -> None:
    path = short_dir / "sub" / "eve.sock"
    source = make_source(f"unix://{path}", mode="0600")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    source.close()
    assert not path.exists()


def test_default_permissions_allow_the_group(make_source, short_dir: Path) -> None:
    make_source(f"unix://{short_dir}/eve.sock")
    assert stat.S_IMODE(os.stat(short_dir / "eve.sock").st_mode) == 0o660


def test_relative_path_is_in_the_run_dir(make_source, context) -> None:
    source = make_source("unix://eve.sock")
    assert source.path == context.run_dir / "eve.sock"
    assert (context.run_dir / "eve.sock").exists()


def test_stale_socket_is_replaced(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays: a crashed process's leftover
    source = make_source(f"unix://{path}")
    writer = SuricataWriter("unix_stream", path)
    writer.connect()
    writer.send(records(1)[0])
    assert len(collect(source, 1)) == 1


def test_refuses_a_path_where_someone_listens(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(str(path))
    live.listen(1)
    try:
        with pytest.raises(OSError, match=r'inputs\[1\] \(tag "eve"\): another process is listening'):
            make_source(f"unix://{path}")
        assert path.exists()
    finally:
        live.close()


def test_refuses_to_replace_a_regular_file(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.json"
    path.write_text("keep me")
    with pytest.raises(OSError, match="is not a socket"):
        make_source(f"unix://{path}")
    assert path.read_text() == "keep me"


def test_too_long_path_is_a_config_error(make_source, short_dir: Path) -> None:
    with pytest.raises(ConfigError, match="the limit is 107"):
        make_source(f"unix://{short_dir}/{'x' * 120}.sock")


def test_unknown_option_is_a_config_error(make_source, short_dir: Path) -> None:
    with pytest.raises(ConfigError, match='unknown key "mdoe" \\(did you mean "mode"'):
        make_source(f"unix://{short_dir}/eve.sock", open=False, mdoe="0660")


def test_close_wakes_a_blocked_read(make_source, short_dir: Path) -> None:
    assert_close_ends_a_blocked_read(make_source(f"unix://{short_dir}/eve.sock"))


def test_batches_respect_max_lines(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unix://{path}")
    writer = SuricataWriter("unix_stream", path)
    writer.connect()
    writer.send_raw(b"".join(r + b"\n" for r in records(1000)))
    sizes = []
    got = 0
    deadline = time.monotonic() + 10
    while got < 1000 and time.monotonic() < deadline:
        batch = source.read_batch(100, 0.05)
        sizes.append(len(batch.lines))
        got += len(batch.lines)
    assert got == 1000 and max(sizes) == 100
