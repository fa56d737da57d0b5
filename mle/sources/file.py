"""``file://PATH`` and ``zfile://PATH``: read a file of EVE lines, plain or gzip.

The compression is recognised by the file's magic bytes, not its name. In
``mle replay`` the source ends at end of file; in ``mle run`` it stays open and
picks up what is appended, as Dragonfly did (use ``tail://`` to follow a file
that is rotated). Relative paths resolve against the root directory.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from mle.connectors import Context, Endpoint, check_options
from mle.sources.base import Batch, Source

GZIP_MAGIC = b"\x1f\x8b"


def open_lines(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """Open ``path`` for fast ``readline``: (reader, raw file for position/size)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20), raw
    raw.seek(0)
    return io.BufferedReader(raw, buffer_size=1 << 20), raw


class LineReader:
    """Reads newline-framed lines with a size cap from a binary stream.

    A line longer than ``max_line_bytes`` is cut to ``max_line_bytes + 1`` bytes (the
    engine rejects it as too large and dead-letters that prefix) and the rest of it
    is skipped. A last line without a newline is returned when ``final`` is set,
    otherwise kept until more data arrives (a writer may be mid-line)."""

    def __init__(self, stream: BinaryIO, max_line_bytes: int) -> None:
        self.stream = stream
        self.limit = max_line_bytes + 1
        self._partial = b""
        self._skipping = False

    def read_line(self, final: bool) -> bytes | None:
        """The next complete line without its newline, or None when none is ready."""
        while True:
            chunk = self.stream.readline(self.limit - len(self._partial) if not self._skipping else 1 << 20)
            if not chunk:
                if final and self._partial and not self._skipping:
                    line, self._partial = self._partial, b""
                    return line
                return None
            if self._skipping:
                if chunk.endswith(b"\n"):
                    self._skipping = False
                continue
            if chunk.endswith(b"\n"):
                line = self._partial + chunk[:-1] if self._partial else chunk[:-1]
                self._partial = b""
                return line
            self._partial += chunk
            if len(self._partial) >= self.limit:
                line, self._partial = self._partial, b""
                self._skipping = True
                return line


class FileSource(Source):
    """Lines of one file (plain or gzip)."""

    OPTIONS: Mapping[str, type | tuple] = {"max_line_bytes": int, "poll_interval": float}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.path, _ = endpoint.path(context.root)
        self.follow = not context.replay
        self.poll_interval = opts.get("poll_interval", 0.2)
        self.max_line_bytes = opts.get("max_line_bytes", context.max_line_bytes)
        self._reader: LineReader | None = None
        self._stream: BinaryIO | None = None
        self._raw: BinaryIO | None = None
        self._closed = threading.Event()
        self._total: int | None = None

    @property
    def description(self) -> str:
        return str(self.path)

    def open(self) -> None:
        try:
            self._stream, self._raw = open_lines(self.path)
        except OSError as exc:
            raise OSError(f"{self.endpoint.label}: cannot open {self.path}: {exc.strerror}") from None
        self._reader = LineReader(self._stream, self.max_line_bytes)
        self._total = os.fstat(self._raw.fileno()).st_size

    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        reader = self._reader
        assert reader is not None and self._raw is not None, "open() first"
        lines: list[bytes] = []
        start = self._raw.tell()
        while len(lines) < max_lines:
            line = reader.read_line(final=not self.follow)
            if line is None:
                break
            lines.append(line)
        consumed = self._raw.tell() - start
        self.stats.lines += len(lines)
        self.stats.bytes += consumed
        if not lines:
            if not self.follow or self._closed.is_set():
                return None
            self._closed.wait(min(timeout, self.poll_interval))
        return Batch(self.tag, lines, size=consumed)

    def progress(self) -> tuple[int, int | None]:
        return self.stats.bytes, self._total

    def close(self) -> None:
        self._closed.set()
        for stream in (self._stream, self._raw):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        self._stream = self._raw = None
