"""How long events take through the engine: read at the source -> written at the sink.

A fixed-bucket histogram kept as plain data, so a child process can ship it to
the supervisor, which exports it as a Prometheus histogram.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

#: Upper bounds (seconds) of the buckets; one more bucket holds everything slower.
BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class LatencyHistogram:
    """Counts of events per latency bucket, and their sum."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BOUNDS) + 1)
        self.sum = 0.0

    def observe(self, seconds: float, events: int = 1) -> None:
        """Record ``events`` events that each took ``seconds``."""
        self.counts[bisect_left(BOUNDS, seconds)] += events
        self.sum += seconds * events

    def as_dict(self) -> dict[str, Any]:
        return {"bounds": list(BOUNDS), "counts": list(self.counts), "sum": self.sum}


def quantile(histogram: dict[str, Any], q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` of a histogram's
    :meth:`~LatencyHistogram.as_dict` (None when empty; inf past the last bound)."""
    total = sum(histogram["counts"])
    if total == 0:
        return None
    running = 0
    for bound, count in zip([*histogram["bounds"], float("inf")], histogram["counts"], strict=True):
        running += count
        if running >= q * total:
            return bound
    return float("inf")
