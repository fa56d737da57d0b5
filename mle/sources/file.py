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
from mle.sources.framing import LineFramer

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 18  # bytes read at a time


def open_lines(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """Open ``path`` for reading in large chunks: (reader, raw file for position/size)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20), raw
    raw.seek(0)
    return io.BufferedReader(raw, buffer_size=1 << 20), raw


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
        self._framer: LineFramer | None = None
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
        self._framer = LineFramer(self.max_line_bytes)
        self._total = os.fstat(self._raw.fileno()).st_size

    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        stream, framer, raw = self._stream, self._framer, self._raw
        assert stream is not None and framer is not None and raw is not None, "open() first"
        lines, self._ready = self._ready, []
        start = raw.tell()
        ended = False
        while len(lines) < max_lines:
            chunk = stream.read(CHUNK)
            if not chunk:
                ended = True
                if not self.follow:  # a last line without a newline still counts
                    last = framer.flush()
                    if last:
                        lines.append(last)
                break
            lines.extend(framer.feed(chunk))  # split in C, not a Python call per line
        if not lines and ended:
            if not self.follow or self._closed.is_set():
                return None
            self._closed.wait(min(timeout, self.poll_interval))
        return self.take(lines, max_lines, raw.tell() - start)

    def progress(self) -> tuple[int, int | None]:
        return self.stats.bytes, self._total

    def close(self) -> None:
        self._closed.set()
        for stream in (self._stream, self._raw):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()
        self._stream = self._raw = None
