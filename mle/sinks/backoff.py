"""Retrying helpers every network sink shares: exponential backoff with jitter, and
error logging that does not flood the log while a destination is down."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable


def backoff_delay(attempt: int, initial: float, maximum: float, u: float) -> float:
    """The wait before retry number ``attempt`` (0-based): ``initial * 2**attempt`` capped at
    ``maximum``, scaled by a jitter factor in [0.5, 1.0] taken from ``u`` in [0, 1), so
    clients that failed together do not come back in step.

    >>> backoff_delay(0, 0.1, 5.0, 1.0)
    0.1
    >>> backoff_delay(10, 0.1, 5.0, 0.0)
    2.5
    """
    base = min(maximum, initial * (2.0 ** min(attempt, 60)))
    return base * (0.5 + 0.5 * min(max(u, 0.0), 1.0))


class Backoff:
    """Successive retry delays for one destination; :meth:`reset` after a success."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0,
                 rng: Callable[[], float] = random.random) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self._rng = rng
        self.attempt = 0

    def next(self) -> float:
        """The next delay (and count one more failed attempt)."""
        delay = backoff_delay(self.attempt, self.initial, self.maximum, self._rng())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class ThrottledLog:
    """Log a recurring error at most once per ``interval`` seconds, with how many
    occurrences were folded into the next message."""

    def __init__(self, logger: logging.Logger, interval: float = 30.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last = -float("inf")
        self._folded = 0

    def __call__(self, level: int, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            self._folded += 1
            return
        if self._folded:
            message += f" ({self._folded} similar messages suppressed)"
        self._folded = 0
        self._last = now
        self.logger.log(level, message, *args)

    def reset(self) -> None:
        """Forget the throttle (after a recovery, the next failure is logged at once)."""
        self._last = -float("inf")
        self._folded = 0
