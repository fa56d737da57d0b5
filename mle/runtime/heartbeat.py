"""A worker's heartbeat: what it is doing, in a small memory-mapped file.

The worker writes its state once per batch (two ``pack_into`` calls); the
supervisor reads it to find a worker stuck in one batch past the wall-clock
limit (a script inside a long C call, which no instruction hook interrupts), and,
when a batch is re-run event by event after a crash, which script was running.
"""

from __future__ import annotations

import mmap
import struct
import time
from dataclasses import dataclass
from pathlib import Path

_FORMAT = struct.Struct("<qqqq")  # state, batch id, started (monotonic ns), script id
IDLE, BUSY = 0, 1


@dataclass(frozen=True)
class Beat:
    state: int
    batch_id: int
    started_ns: int
    script_id: int

    def busy_for(self) -> float:
        """Seconds spent in the current batch (0 when idle)."""
        return (time.monotonic_ns() - self.started_ns) / 1e9 if self.state == BUSY else 0.0


class Heartbeat:
    """Shared between one worker (writer) and the supervisor (reader)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists() or self.path.stat().st_size != _FORMAT.size:
            self.path.write_bytes(bytes(_FORMAT.size))
        self._file = open(self.path, "r+b")  # noqa: SIM115 - lives as long as the object
        self._map = mmap.mmap(self._file.fileno(), _FORMAT.size)

    def busy(self, batch_id: int) -> None:
        _FORMAT.pack_into(self._map, 0, BUSY, batch_id, time.monotonic_ns(), 0)

    def idle(self) -> None:
        struct.pack_into("<q", self._map, 0, IDLE)

    def tracing(self, script_id: int) -> None:
        """Record the script about to run (only while a batch is isolated)."""
        struct.pack_into("<q", self._map, 24, script_id)

    def read(self) -> Beat:
        return Beat(*_FORMAT.unpack_from(self._map, 0))

    def close(self) -> None:
        self._map.close()
        self._file.close()
