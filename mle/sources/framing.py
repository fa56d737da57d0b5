"""Newline framing with the max-line rule, for every source that receives bytes.

Two shapes of input exist. A *stream* (a unix or TCP connection, a followed file,
standard input) delivers bytes in arbitrary pieces: :class:`LineFramer` keeps the
partial last line between reads. A *message* (a datagram, a Redis list element, a
ZeroMQ or NATS message) is whole: :func:`split_record` splits it.

The rule every source follows: a line longer than
``max_line_bytes`` is passed on cut to ``max_line_bytes + 1`` bytes (the worker
rejects it as ``too_large`` and dead-letters that prefix) and the rest of that line
is skipped. Empty lines carry nothing and are dropped here.
"""

from __future__ import annotations


class LineFramer:
    """Bytes in, complete lines (without their newline) out; one framer per stream.

    Nothing is lost inside the framer: a line is either returned whole, returned cut
    to ``max_line_bytes + 1`` bytes (too long), or still held as :attr:`pending`
    until its newline arrives or :meth:`flush` hands it over."""

    __slots__ = ("_partial", "_skipping", "limit")

    def __init__(self, max_line_bytes: int) -> None:
        self.limit = max_line_bytes + 1
        self._partial = b""
        self._skipping = False  # inside a too-long line whose prefix was already returned

    @property
    def pending(self) -> int:
        """Bytes of an incomplete line held back (0 while skipping a too-long line)."""
        return len(self._partial)

    def feed(self, data: bytes) -> list[bytes]:
        """Frame ``data``; returns the lines it completed (possibly none)."""
        limit = self.limit
        out: list[bytes] = []
        if self._skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return out
            self._skipping = False
            data = data[newline + 1:]
        if self._partial:
            newline = data.find(b"\n")
            if newline < 0:
                self._partial += data
                if len(self._partial) >= limit:
                    out.append(self._partial[:limit])
                    self._partial = b""
                    self._skipping = True
                return out
            line = self._partial + data[:newline]
            self._partial = b""
            data = data[newline + 1:]
            if line:
                out.append(line[:limit])
        parts = data.split(b"\n")
        tail = parts.pop()
        if parts:
            if b"" in parts:
                parts = [p for p in parts if p]
            if parts and max(map(len, parts)) > limit:
                parts = [p[:limit] for p in parts]
            out.extend(parts)
        if tail:
            if len(tail) >= limit:
                out.append(tail[:limit])
                self._skipping = True
            else:
                self._partial = tail
        return out

    def flush(self) -> bytes | None:
        """End of stream: the incomplete last line, if any, and a fresh state."""
        partial, self._partial, self._skipping = self._partial, b"", False
        return partial or None


def split_record(data: bytes, max_line_bytes: int) -> list[bytes]:
    """The lines of one whole message (a datagram, a list element): usually one record,
    possibly several separated by newlines; a trailing newline is optional."""
    limit = max_line_bytes + 1
    if b"\n" not in data:
        if not data:
            return []
        return [data if len(data) <= limit else data[:limit]]
    return [p if len(p) <= limit else p[:limit] for p in data.split(b"\n") if p]
