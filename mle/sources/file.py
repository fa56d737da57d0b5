"""``file://PATH`` and ``zfile://PATH``: read a file of EVE lines, plain or gzip.

The compression is recognised by the file's magic bytes, not its name. In
``mle replay`` the source ends at end of file; in ``mle run`` it stays open and
picks up what is appended, as Dragonfly did (use ``tail://`` to follow a file
that is rotated). Relative paths resolve against the root directory.

A gzip file that is cut short or corrupt gives every line before the damage (an
incomplete last line too, which the worker dead-letters), then the source fails
with an error naming the file and the damage (:mod:`.gzipstream`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from mle.connectors import Context, Endpoint, check_options
from mle.sources.base import Batch, Source
from mle.sources.framing import LineFramer
from mle.sources.gzipstream import DamagedInput, GzipStream

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 18  # bytes read at a time


def open_chunks(path: Path) -> tuple[Callable[[], bytes], BinaryIO]:
    """Open ``path``: (a function returning the next chunk of its lines' bytes, b"" at
    the end, decompressing gzip; the raw file, for position and size)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        return GzipStream(raw).read, raw
    raw.seek(0)
    return lambda: raw.read(CHUNK), raw


def replay_sources(tag: str, files: Sequence[str], options: Mapping[str, Any], context: Context) -> list[FileSource]:
    """The sources of ``mle replay FILE...``: each file through input ``tag``, which
    lends them its ``max_line_bytes``."""
    kept = {k: v for k, v in options.items() if k == "max_line_bytes"}
    return [FileSource(tag, Endpoint("file", str(Path(f).resolve()), f'replay (input "{tag}")'), kept, context)
            for f in files]


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
        self._read: Callable[[], bytes] | None = None
        self._raw: BinaryIO | None = None
        self._damage: OSError | None = None  # raised once the lines before it are handed out
        self._closed = threading.Event()
        self._total: int | None = None

    @property
    def description(self) -> str:
        return str(self.path)

    def preflight(self) -> None:
        """The file must exist and be readable."""
        try:
            open(self.path, "rb").close()
        except OSError as exc:
            raise OSError(f"{self.endpoint.label}: cannot open {self.path}: {exc.strerror}") from None

    def open(self) -> None:
        try:
            self._read, self._raw = open_chunks(self.path)
        except OSError as exc:
            raise OSError(f"{self.endpoint.label}: cannot open {self.path}: {exc.strerror}") from None
        self._framer = LineFramer(self.max_line_bytes)
        self._total = os.fstat(self._raw.fileno()).st_size

    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        read, framer, raw = self._read, self._framer, self._raw
        assert read is not None and framer is not None and raw is not None, "open() first"
        if self._damage is not None and not self._ready:
            raise self._damage
        lines, self._ready = self._ready, []
        start = raw.tell()
        ended = False
        while len(lines) < max_lines and self._damage is None:
            try:
                chunk = read()
            except DamagedInput as exc:  # hand out what came before it; the next call raises
                self._damage = OSError(f"{self.endpoint.label}: {self.path}: {exc}; the "
                                       f"{self.stats.lines + len(lines):,} complete lines before the damage were read")
                last = framer.flush()
                if last:
                    lines.append(last)
                if not lines:
                    raise self._damage from None
                break
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
        if self._raw is not None:
            with contextlib.suppress(OSError, ValueError):
                self._raw.close()
        self._read = self._raw = None
