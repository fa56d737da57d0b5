"""``file://PATH``: one JSON document per line, appended.

Relative paths resolve against the log directory (as Dragonfly's did). A
trailing ``<`` truncates the file at start (Dragonfly's convention), ``>`` or
nothing appends. Each batch is one ``write`` followed by a flush, so a reader
(``tail -f``, Filebeat) never sees half a batch for long, and a line is never
split between two files.

Rotation:

- ``reopen()`` (SIGHUP): close and re-open the path, for logrotate's
  rename-then-signal (``postrotate kill -HUP``);
- ``rotate()`` (SIGUSR1, Dragonfly's signal): rename the file with a time suffix
  (``eve.json.20261123.060000``, then ``.1``, ``.2`` ... if that name is taken)
  and start a new one;
- ``max_bytes = N``: before a batch that would take the file past N bytes, the
  file becomes ``PATH.1`` (older ones shift to ``.2`` ... ``.keep``, the oldest
  is deleted) and a new one starts. A batch bigger than N goes whole into a new file.

Delivery: a batch is in the file (the OS's page cache) when :meth:`write_batch`
returns; an error (disk full) raises OSError and the engine dead-letters the batch.
Appending to a file that already holds lines is Dragonfly's rule; the sink counts
them at start (``stats.existing_lines``) so the summary can say so.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sinks.base import Sink

log = logging.getLogger("mle.sinks.file")


def numbered(path: Path, n: int) -> Path:
    """``eve.json`` -> ``eve.json.3``."""
    return path.with_name(f"{path.name}.{n}")


def shift_numbered(path: Path, keep: int) -> None:
    """Make room for a new ``PATH.1``: delete ``PATH.keep``, rename ``PATH.i`` to ``PATH.i+1``."""
    oldest = numbered(path, keep)
    if oldest.exists():
        oldest.unlink()
    for i in range(keep - 1, 0, -1):
        src = numbered(path, i)
        if src.exists():
            os.replace(src, numbered(path, i + 1))


def stamped_name(path: Path, stamp: str) -> Path:
    """``PATH.STAMP``, or ``PATH.STAMP.N`` for the first N that does not exist yet
    (two rotations in the same second never overwrite each other)."""
    candidate = path.with_name(f"{path.name}.{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}.{n}")
        n += 1
    return candidate


def count_lines(path: Path) -> int:
    """Lines in a file (a last line without a newline counts)."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


class FileSink(Sink):
    """Append JSON lines to a file; rotate on signal or by size."""

    OPTIONS: Mapping[str, type | tuple] = {"max_bytes": int, "keep": int}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.path, suffix = endpoint.path(context.log_dir)
        self.truncate = suffix == "<"
        self.max_bytes: int = opts.get("max_bytes", 0)
        self.keep: int = opts.get("keep", 5)
        if self.max_bytes < 0:
            raise ConfigError(f'{endpoint.label}: "max_bytes" must be 0 (no size rotation) or a positive size')
        if self.keep < 1:
            raise ConfigError(f'{endpoint.label}: "keep" must be at least 1')
        self._file: BinaryIO | None = None
        self._size = 0
        self._lock = threading.Lock()
        self.rotations = 0

    @property
    def description(self) -> str:
        return str(self.path)

    def _open(self, mode: str) -> None:
        try:
            self._file = open(self.path, mode)  # noqa: SIM115 - held open between batches
        except OSError as exc:
            raise OSError(f"{self.endpoint.label}: cannot open {self.path}: {exc.strerror}") from None
        self._size = os.fstat(self._file.fileno()).st_size

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._open("wb" if self.truncate else "ab")
            if self._size:
                self.stats.existing_lines = count_lines(self.path)

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        with self._lock:
            if self._file is None:
                raise OSError(f"{self.endpoint.label}: {self.path} is not open")
            if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
                self._rotate_by_size()
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
        self.stats.lines += len(lines)
        self.stats.bytes += len(data)

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _rotate_by_size(self) -> None:
        self._close_file()
        shift_numbered(self.path, self.keep)
        if self.path.exists():
            os.replace(self.path, numbered(self.path, 1))
        self.rotations += 1
        self._open("ab")

    def reopen(self) -> None:
        with self._lock:
            self._close_file()
            self._open("ab")

    def rotate(self) -> None:
        with self._lock:
            self._close_file()
            if self.path.exists():
                target = stamped_name(self.path, time.strftime("%Y%m%d.%H%M%S"))
                os.replace(self.path, target)
                log.info("output %s: rotated %s to %s", self.tag, self.path, target.name)
            self.rotations += 1
            self._open("ab")

    def close(self) -> None:
        with self._lock:
            self._close_file()
