"""``stdout://``: one JSON document per line on standard output.

Each batch is written and flushed before :meth:`StdoutSink.write_batch` returns, so a
slow reader of the pipe slows the engine down (backpressure). A closed pipe raises
BrokenPipeError: the engine dead-letters that batch and stops.
"""

from __future__ import annotations

import sys
from typing import BinaryIO

from mle.sinks.base import Sink


class StdoutSink(Sink):
    """Write JSON lines to the process's standard output."""

    @property
    def description(self) -> str:
        return "standard output"

    def _stream(self) -> BinaryIO:
        return sys.stdout.buffer

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        stream = self._stream()
        stream.write(data)
        stream.flush()
        self.stats.lines += len(lines)
        self.stats.bytes += len(data)
