"""The line framer and the max-line rule, which every byte-stream input shares."""

from __future__ import annotations

import random

import pytest

from mle.sources.framing import LineFramer, split_record


def feed_all(framer: LineFramer, pieces: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for piece in pieces:
        out.extend(framer.feed(piece))
    return out


def test_lines_split_across_reads_are_joined() -> None:
    framer = LineFramer(100)
    assert framer.feed(b'{"a":1}\n{"b"') == [b'{"a":1}']
    assert framer.pending == 4
    assert framer.feed(b":2") == []
    assert framer.feed(b"}\n{") == [b'{"b":2}']
    assert framer.flush() == b"{"
    assert framer.flush() is None


def test_empty_lines_are_dropped() -> None:
    framer = LineFramer(100)
    assert framer.feed(b"\n\na\n\n\nb\n\n") == [b"a", b"b"]
    assert framer.feed(b"c") == []
    assert framer.feed(b"\n\n") == [b"c"]


def test_too_long_line_is_cut_and_the_rest_skipped() -> None:
    framer = LineFramer(10)
    out = framer.feed(b"short\n" + b"y" * 25 + b"\nnext\n")
    assert out == [b"short", b"y" * 11, b"next"]


def test_too_long_partial_line_is_cut_once_and_skipped_across_reads() -> None:
    framer = LineFramer(10)
    assert framer.feed(b"ok\n" + b"z" * 6) == [b"ok"]
    assert framer.feed(b"z" * 6) == [b"z" * 11]  # 12 bytes pending > limit: cut to max + 1
    assert framer.pending == 0
    assert framer.feed(b"z" * 1000) == []  # still the same line: skipped
    assert framer.feed(b"zz\nafter\n") == [b"after"]


def test_line_of_exactly_max_bytes_passes_whole() -> None:
    framer = LineFramer(10)
    assert framer.feed(b"a" * 10 + b"\n" + b"b" * 11 + b"\n") == [b"a" * 10, b"b" * 11]


@pytest.mark.parametrize("seed", range(5))
def test_any_chunking_gives_the_same_lines(seed: int) -> None:
    """However a stream is cut into reads, the framer yields every non-empty line, a
    line over the limit cut to limit + 1 bytes."""
    rnd = random.Random(seed)
    lines = [bytes(rnd.choice(b"ab{}:\"") for _ in range(rnd.choice([0, 1, 5, 30, 64, 65, 200])))
             for _ in range(200)]
    data = b"\n".join(lines) + b"\n"
    expected = [line[:65] for line in lines if line]
    cuts = sorted(rnd.sample(range(1, len(data)), 150))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    assert feed_all(LineFramer(64), pieces) == expected


def test_split_record() -> None:
    assert split_record(b'{"a":1}\n', 100) == [b'{"a":1}']
    assert split_record(b'{"a":1}', 100) == [b'{"a":1}']
    assert split_record(b'{"a":1}\n{"b":2}\n\n', 100) == [b'{"a":1}', b'{"b":2}']
    assert split_record(b"", 100) == []
    assert split_record(b"q" * 50, 10) == [b"q" * 11]
    assert split_record(b"q" * 50 + b"\nok", 10) == [b"q" * 11, b"ok"]
