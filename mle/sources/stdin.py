"""``stdin://``: EVE lines from standard input until end of file, e.g.
``tail -F eve.json | mle run`` or ``zcat old.json.gz | mle run``.

The input ends at end of file (``mle run`` then drains and exits when it was the
only input). A last line without a newline is a normal end of a pipe and is
passed on as it is. Options: ``max_line_bytes``. Delivery: every line, once, in
order; lines still in the pipe when MLE is stopped are not read.
"""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Mapping
from typing import Any

from mle.connectors import Context, Endpoint, check_options
from mle.sources.base import Batch
from mle.sources.framing import LineFramer
from mle.sources.selecting import SelectingSource

READ_SIZE = 1 << 20
STDIN_FD = 0


class StdinSource(SelectingSource):
    """Lines of the process's standard input; finite."""

    OPTIONS: Mapping[str, type | tuple] = {"max_line_bytes": int}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.max_line_bytes = opts.get("max_line_bytes", context.max_line_bytes)
        self._framer = LineFramer(self.max_line_bytes)
        self._fd: int | None = None
        self._eof = False

    @property
    def description(self) -> str:
        return "stdin://"

    def open(self) -> None:
        # file descriptor 0 itself: in the engine's source process (a multiprocessing child)
        # sys.stdin is /dev/null, but the descriptor inherited from the shell is still 0
        try:
            os.fstat(STDIN_FD)
        except OSError:
            raise OSError(f"{self.endpoint.label}: this process has no standard input") from None
        self._fd = STDIN_FD
        selector = self._open_selector()
        try:
            selector.register(self._fd, selectors.EVENT_READ)
        except (PermissionError, ValueError):
            # a regular file (e.g. `mle run < eve.json`) cannot be polled; it is always readable
            self._selector.close()
            self._selector = None

    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            if self._guard.closing.is_set() or self._fd is None:
                return None
            lines, self._ready = self._ready, []
            if self._eof and not lines:
                return None
            received = 0
            deadline = time.monotonic() + timeout
            while not self._eof and len(lines) < max_lines and not self._guard.closing.is_set():
                remaining = deadline - time.monotonic()
                if self._selector is not None:
                    events = self._selector.select(remaining if remaining > 0 else 0)
                    if not [key for key, _ in events if not self._woken(key)]:
                        break
                chunk = os.read(self._fd, READ_SIZE)
                received += len(chunk)
                if chunk:
                    lines.extend(self._framer.feed(chunk))
                else:
                    self._eof = True
                    last = self._framer.flush()
                    if last is not None:
                        lines.append(last)
                if remaining <= 0:
                    break
            return self.take(lines, max_lines, received)

    def _release_descriptors(self) -> None:
        self._fd = None  # standard input itself stays open: it is the process's
