"""``file://PATH``: one JSON document per line, appended.

Relative paths resolve against the log directory (as Dragonfly's did). A
trailing ``<`` truncates the file at start (Dragonfly's convention), ``>`` or
nothing appends. Each batch is one ``write`` followed by a flush, so a reader
(``tail -f``, Filebeat) never sees half a batch for long. ``reopen()`` (SIGHUP)
re-opens the path for logrotate; ``rotate()`` (SIGUSR1) renames the file with a
time suffix and starts a new one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

from mle.connectors import Context, Endpoint, check_options
from mle.sinks.base import Sink


class FileSink(Sink):
    """Append JSON lines to a file."""

    OPTIONS: Mapping[str, type | tuple] = {}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        check_options(endpoint.label, options, self.OPTIONS)
        self.path, suffix = endpoint.path(context.log_dir)
        self.truncate = suffix == "<"
        self._file: BinaryIO | None = None
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return str(self.path)

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._file = open(self.path, "wb" if self.truncate else "ab")  # noqa: SIM115
        except OSError as exc:
            raise OSError(f"{self.endpoint.label}: cannot open {self.path}: {exc.strerror}") from None

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        with self._lock:
            assert self._file is not None, "open() first"
            self._file.write(data)
            self._file.flush()
        self.stats.lines += len(lines)
        self.stats.bytes += len(data)

    def reopen(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file = open(self.path, "ab")  # noqa: SIM115

    def rotate(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
            if self.path.exists():
                stamp = time.strftime("%Y%m%d.%H%M%S")
                os.replace(self.path, self.path.with_name(f"{self.path.name}.{stamp}"))
            self._file = open(self.path, "ab")  # noqa: SIM115

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
