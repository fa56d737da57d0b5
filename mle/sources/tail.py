"""``tail:///path``: follow a growing file (Suricata's ``filetype: regular``) across
rotations, like ``tail -F``.

* Starts at the end of the file by default; from the start with ``tail:///path<``
  (Dragonfly's suffix) or ``from_start = true``. A file that appears later (it did
  not exist at start, or after a rotation) is always read from its start.
* Rename-and-create rotation (logrotate's default, then SIGHUP or
  ``suricatasc -c reopen-log-files``): when the path names a new file, MLE follows
  it, and keeps reading the old one for ``rotate_grace`` seconds after it last grew,
  because Suricata writes to the old file until it is told to reopen.
* Copy-truncate rotation: when the file shrinks below the read position, reading
  restarts at 0 (counted as ``file_truncated``).
* A missing file (not created yet, or between rename and create) is waited for;
  the input never stops because of it.
* A partial last line is kept until its newline arrives; if the file is rotated or
  truncated first, it is passed on as a truncated record (the worker dead-letters
  it) and counted as ``partial_line_at_rotation`` / ``partial_line_at_truncate``.
* Empty lines are skipped, as Dragonfly's tail did.

Relative paths resolve against the root directory. Options: ``max_line_bytes``,
``from_start`` (bool), ``poll_interval`` (seconds to sleep when idle, default 0.25),
``rotate_grace`` (seconds, default 5). Delivery: every line written to the file is
read once, unless a copy-truncate rotation races a writer (lines written between
the copy and the truncation are lost: logrotate's own caveat) or the file is
rotated twice while MLE is stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sources.base import Batch, Source
from mle.sources.faults import count_fault
from mle.sources.framing import LineFramer
from mle.sources.guard import ReadGuard

log = logging.getLogger("mle.input")

READ_SIZE = 1 << 20


@dataclass(eq=False)
class _OpenFile:
    """One open generation of the followed path."""

    fd: int
    identity: tuple[int, int]
    framer: LineFramer
    position: int = 0
    grace_until: float = 0.0  # for a rotated-away file: stop reading it after this


class TailSource(Source):
    """Follows one file by path, surviving rotation; ends only when closed."""

    OPTIONS: Mapping[str, type | tuple] = {
        "max_line_bytes": int, "from_start": bool, "poll_interval": float, "rotate_grace": float,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.path, suffix = endpoint.path(context.root)
        self.from_start = opts.get("from_start", suffix == "<")
        self.poll_interval = opts.get("poll_interval", 0.25)
        self.rotate_grace = opts.get("rotate_grace", 5.0)
        if self.poll_interval <= 0:
            raise ConfigError(f'{endpoint.label}: "poll_interval" must be positive')
        self.max_line_bytes = opts.get("max_line_bytes", context.max_line_bytes)
        self.rotations = 0
        self._current: _OpenFile | None = None
        self._rotated: list[_OpenFile] = []  # old files still read during their grace period
        self._first_open = True
        self._waiting_logged = False
        self._guard = ReadGuard()

    @property
    def description(self) -> str:
        return f"tail://{self.path}"

    @property
    def position(self) -> int:
        """Read offset in the file followed now (0 while waiting for it)."""
        return self._current.position if self._current else 0

    def open(self) -> None:
        if self.path.is_dir():
            raise OSError(f"{self.endpoint.label}: {self.path} is a directory, not a file to follow")
        self._open_current()

    # opening and rotating -------------------------------------------------------------
    def _open_current(self) -> None:
        """Open the file the path names now, if there is one."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._first_open = False  # a file created later is new: read it whole
            if not self._waiting_logged:
                self._waiting_logged = True
                log.info("%s: waiting for %s to appear", self.endpoint.label, self.path)
            return
        except OSError as exc:
            count_fault(self.stats, self.endpoint.label, "open_failed", f"{self.path}: {exc.strerror}")
            return
        st = os.fstat(fd)
        current = _OpenFile(fd, (st.st_dev, st.st_ino), LineFramer(self.max_line_bytes))
        if self._first_open and not self.from_start:
            current.position = os.lseek(fd, 0, os.SEEK_END)
        self._first_open = False
        self._waiting_logged = False
        self._current = current

    def _check_rotation(self, lines: list[bytes]) -> bool:
        """At end of the current file: follow a new file or restart a truncated one.
        True if there may be more to read now."""
        current = self._current
        assert current is not None
        try:
            st = os.stat(self.path)
        except OSError:
            return False  # renamed away, new file not created yet: keep reading the old one
        if (st.st_dev, st.st_ino) != current.identity:
            self._read(current, lines, 1 << 62)  # what was appended since our last read
            current.grace_until = time.monotonic() + self.rotate_grace
            self._rotated.append(current)
            self._current = None
            self.rotations += 1
            self._open_current()
            return self._current is not None
        size = os.fstat(current.fd).st_size
        if size < current.position:
            self._flush(current, lines, "partial_line_at_truncate")
            count_fault(self.stats, self.endpoint.label, "file_truncated",
                        f"{self.path} shrank from {current.position} to {size} bytes (copytruncate?)")
            os.lseek(current.fd, 0, os.SEEK_SET)
            current.position = 0
            self.rotations += 1
            return True
        return False

    def _flush(self, file: _OpenFile, lines: list[bytes], reason: str) -> None:
        partial = file.framer.flush()
        if partial is not None:
            lines.append(partial)  # a truncated record: the worker dead-letters it
            count_fault(self.stats, self.endpoint.label, reason, f"{len(partial)} bytes without a newline")

    def _read(self, file: _OpenFile, lines: list[bytes], max_lines: int) -> bool:
        """Read ``file`` until its end or ``max_lines``; True if anything was read."""
        grew = False
        while len(lines) < max_lines:
            chunk = os.read(file.fd, READ_SIZE)
            if not chunk:
                break
            grew = True
            file.position += len(chunk)
            self.stats.bytes += len(chunk)
            lines.extend(file.framer.feed(chunk))
        return grew

    def _read_rotated(self, lines: list[bytes], max_lines: int) -> None:
        """Finish the rotated-away files: what Suricata wrote before it reopened."""
        now = time.monotonic()
        for old in list(self._rotated):
            if self._read(old, lines, max_lines):
                old.grace_until = now + self.rotate_grace
            elif now >= old.grace_until:
                self._flush(old, lines, "partial_line_at_rotation")
                self._rotated.remove(old)
                with contextlib.suppress(OSError):
                    os.close(old.fd)

    # reading --------------------------------------------------------------------------
    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            if self._guard.closing.is_set():
                return None
            lines, self._ready = self._ready, []
            start_bytes = self.stats.bytes
            if self._rotated:
                self._read_rotated(lines, max_lines)
            if self._current is None:
                self._open_current()
            while self._current is not None and len(lines) < max_lines:
                if not self._read(self._current, lines, max_lines) and not self._check_rotation(lines):
                    break
            if len(lines) > max_lines:
                lines, self._ready = lines[:max_lines], lines[max_lines:]
            self.stats.lines += len(lines)
            size = self.stats.bytes - start_bytes
        if not lines:
            self._guard.wait(min(timeout, self.poll_interval))
        return Batch(self.tag, lines, size=size)

    def close(self) -> None:
        self._guard.close(lambda: None, self._release)

    def _release(self) -> None:
        for file in [*self._rotated, self._current]:
            if file is not None:
                with contextlib.suppress(OSError):
                    os.close(file.fd)
        self._rotated.clear()
        self._current = None
