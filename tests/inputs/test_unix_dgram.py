"""``unixgram://`` / ``ipc://``: Suricata's unix_dgram eve-log, one record per datagram."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import orjson
import pytest
from input_peers import SuricataWriter, collect, drain, records


@pytest.mark.parametrize("scheme", ["unixgram", "ipc"])
def test_one_record_per_datagram(make_source, short_dir: Path, scheme: str) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"{scheme}://{path}")
    writer = SuricataWriter("unix_dgram", path)
    writer.connect()
    sent = records(500)
    # the kernel queues at most net.unix.max_dgram_qlen datagrams: the sender blocks until MLE reads
    thread = threading.Thread(target=lambda: [writer.send(record) for record in sent])
    thread.start()
    lines = collect(source, 500)
    thread.join()
    assert writer.sent == 500
    assert lines == sent
    assert source.datagrams == 500
    assert drain(source) == []


def test_several_records_in_one_datagram_each_count(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"ipc://{path}")
    writer = SuricataWriter("unix_dgram", path)
    writer.send_raw(b"\n".join(records(3)) + b"\n")
    writer.send_raw(records(1, start=3)[0])  # no newline at all
    lines = collect(source, 4)
    assert [orjson.loads(x)["seq"] for x in lines] == [0, 1, 2, 3]
    assert source.stats.lines == 4 and source.datagrams == 2


def test_datagram_near_the_kernel_limit_arrives_whole(make_source, short_dir: Path) -> None:
    """~200 KB: what the default socket buffers allow for one unix datagram."""
    path = short_dir / "eve.sock"
    source = make_source(f"unixgram://{path}")
    writer = SuricataWriter("unix_dgram", path)
    writer.connect()
    big = records(1, pad=200_000)[0]
    assert writer.send(big)
    assert collect(source, 1) == [big]
    assert source.receive_buffer >= 1 << 20


def test_datagram_over_max_line_bytes_is_cut(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unixgram://{path}", max_line_bytes=1024)
    writer = SuricataWriter("unix_dgram", path)
    writer.send_raw(b'{"x":"' + b"C" * 50_000 + b'"}\n')
    writer.send(records(1)[0])
    lines = collect(source, 2)
    assert len(lines[0]) == 1025
    assert orjson.loads(lines[1])["seq"] == 0


def test_datagram_larger_than_the_buffer_is_counted_as_truncated(make_source, short_dir: Path) -> None:
    path = short_dir / "eve.sock"
    source = make_source(f"unixgram://{path}", max_line_bytes=1024)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 << 20)
    sender.sendto(b"D" * (600 << 10), str(path))  # beyond the 512 KiB receive buffer
    sender.sendto(records(1)[0], str(path))
    lines = collect(source, 2)
    assert len(lines[0]) == 1025
    assert source.stats.errors["datagram_truncated"] == 1
    assert orjson.loads(lines[1])["seq"] == 0
    sender.close()


def test_senders_block_rather_than_lose_while_mle_is_not_reading(make_source, short_dir: Path) -> None:
    """Backpressure: a blocking sender waits while the engine is busy; nothing is lost."""
    path = short_dir / "eve.sock"
    source = make_source(f"unixgram://{path}", rcvbuf=64 << 10)
    sent = records(3000, pad=200)
    writer = SuricataWriter("unix_dgram", path)
    writer.connect()
    thread = threading.Thread(target=lambda: [writer.send(r) for r in sent])
    thread.start()
    thread.join(0.3)
    assert thread.is_alive(), "the sender should be blocked by the full socket"
    lines = collect(source, 3000)
    thread.join()
    assert lines == sent


def test_live_mode_sender_drops_when_full_and_mle_keeps_going(make_source, short_dir: Path) -> None:
    """Suricata in live mode (MSG_DONTWAIT) drops records when the socket is full."""
    path = short_dir / "eve.sock"
    source = make_source(f"unixgram://{path}", rcvbuf=64 << 10)
    writer = SuricataWriter("unix_dgram", path, live=True)
    writer.connect()
    for record in records(3000, pad=200):
        writer.send(record)
    assert writer.dropped > 0
    lines = collect(source, writer.sent)
    assert len(lines) == writer.sent and drain(source) == []
    assert writer.send(records(1, start=9999)[0])
    assert orjson.loads(collect(source, 1)[0])["seq"] == 9999
