"""``dragonfly.timer_event``: one-shot timers that deliver a table to an analyzer.

As in Dragonfly, an analyzer has at most one pending timer: arming it again
replaces the pending one (its value is never delivered; the call returns false
to tell the script). The value is a snapshot taken when the timer is armed.
Resolution is the batch interval (a few milliseconds), finer than Dragonfly's
one second.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Any


class TimerQueue:
    """Pending timers, at most one per target analyzer."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, int, Any]] = []
        self._pending: dict[int, int] = {}  # script id -> sequence number of its live timer
        self._sequence = itertools.count()
        self.fired = 0
        self.replaced = 0

    def arm(self, script_id: int, seconds: float, value: Any) -> bool:
        """Schedule ``value`` for analyzer ``script_id``, replacing a pending timer
        (then returns False)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("timer_event: seconds must be a finite number >= 0")
        replaced = script_id in self._pending
        self.replaced += replaced
        sequence = next(self._sequence)
        self._pending[script_id] = sequence
        heapq.heappush(self._heap, (self._clock() + seconds, sequence, script_id, value))
        if len(self._heap) > 2 * len(self._pending) + 16:  # drop replaced entries (and their snapshots)
            self._heap = [e for e in self._heap if self._pending.get(e[2]) == e[1]]
            heapq.heapify(self._heap)
        return not replaced

    def due(self, now: float | None = None) -> list[tuple[int, Any]]:
        """Remove and return the timers due at ``now`` (all of them if now is inf)."""
        now = self._clock() if now is None else now
        fired = []
        while self._heap and self._heap[0][0] <= now:
            _, sequence, script_id, value = heapq.heappop(self._heap)
            if self._pending.get(script_id) != sequence:
                continue  # replaced by a later call
            del self._pending[script_id]
            fired.append((script_id, value))
        self.fired += len(fired)
        return fired

    def next_due(self) -> float | None:
        """Monotonic time of the earliest pending timer, or None."""
        while self._heap and self._pending.get(self._heap[0][2]) != self._heap[0][1]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._pending)
