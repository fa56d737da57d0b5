"""A bounded on-disk FIFO of bulk request bodies: where requests wait while the
cluster is down, and where undelivered ones survive a restart.

One file per request, ``<sequence>.ndjson`` (the request body exactly as it
would be sent), written to a temporary name, fsync'ed and renamed, so a crash
leaves whole files only. A file is deleted once every item in it was delivered,
found to be a duplicate, or dead-lettered; files found at start are replayed
first. The files' total size never exceeds ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mle.sinks.elasticsearch")

SUFFIX = ".ndjson"


@dataclass(frozen=True)
class SpillFile:
    """One request on disk."""

    path: Path
    size: int


class Spill:
    """The spill directory of one output. Thread-safe."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._waiting: deque[SpillFile] = deque()  # on disk, not handed out yet (oldest first)
        self._bytes = 0  # every file on disk, handed out or not
        self._next = 1
        self._lock = threading.Lock()

    def recover(self) -> int:
        """Create the directory and queue the files a previous run left; returns their count."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for stray in self.directory.glob("*.tmp"):
            stray.unlink()
        found = sorted(self.directory.glob("*" + SUFFIX), key=lambda p: (len(p.stem), p.stem))
        with self._lock:
            for path in found:
                size = path.stat().st_size
                self._waiting.append(SpillFile(path, size))
                self._bytes += size
                if path.stem.isdigit():
                    self._next = max(self._next, int(path.stem) + 1)
        return len(found)

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    @property
    def waiting(self) -> int:
        """Files not handed out yet."""
        with self._lock:
            return len(self._waiting)

    def documents(self) -> int:
        """Documents in every request file on disk (two lines each), read from the files."""
        total = 0
        for path in self.directory.glob("*" + SUFFIX):
            with contextlib.suppress(FileNotFoundError):
                total += path.read_bytes().count(b"\n") // 2
        return total

    def fits(self, size: int) -> bool:
        with self._lock:
            return self._bytes + size <= self.max_bytes

    def push(self, body: bytes) -> SpillFile | None:
        """Store a request at the back of the queue; None when it does not fit."""
        with self._lock:
            if self._bytes + len(body) > self.max_bytes:
                return None
            number = self._next
            self._next += 1
            self._bytes += len(body)  # reserved now, so concurrent pushes respect the bound
        path = self.directory / f"{number:012d}{SUFFIX}"
        try:
            _write_durably(path, body)
        except OSError:
            with self._lock:
                self._bytes -= len(body)
            raise
        spilled = SpillFile(path, len(body))
        with self._lock:
            self._waiting.append(spilled)
        return spilled

    def pop(self) -> tuple[SpillFile, bytes] | None:
        """The oldest waiting request and its body (the file stays until :meth:`remove`)."""
        with self._lock:
            if not self._waiting:
                return None
            spilled = self._waiting.popleft()
        try:
            return spilled, spilled.path.read_bytes()
        except OSError as exc:
            log.error("spill file %s cannot be read (%s): skipped", spilled.path, exc)
            self.remove(spilled)
            return None

    def remove(self, spilled: SpillFile) -> None:
        """Forget a request whose items are all settled."""
        with contextlib.suppress(FileNotFoundError):
            spilled.path.unlink()
        with self._lock:
            self._bytes -= spilled.size

    def rewrite(self, spilled: SpillFile, body: bytes) -> SpillFile:
        """Replace a handed-out request by what is left of it (a shutdown mid-delivery)."""
        _write_durably(spilled.path, body)
        with self._lock:
            self._bytes += len(body) - spilled.size
        return SpillFile(spilled.path, len(body))


def _write_durably(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
