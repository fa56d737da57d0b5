"""Closing a source from another thread while its reader may be blocked in it.

The engine reads a source in one thread and closes it from another. A source holds
its :class:`ReadGuard` while reading; :meth:`ReadGuard.close` sets ``closing``,
wakes the reader (which returns what it has), waits until it has left, and only
then releases the resources, so no file descriptor is closed under a ``select``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("mle.input")


class ReadGuard:
    """``with guard:`` around a read; ``guard.close(wake, release)`` from anywhere."""

    def __init__(self) -> None:
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._released = False
        self._waiting = 0

    def __enter__(self) -> ReadGuard:
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @property
    def reading(self) -> bool:
        """True while a reader is inside ``with guard:`` or in :meth:`wait`."""
        return self._lock.locked() or self._waiting > 0

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` unless closing (sources call it outside ``with guard:``,
        so a close never waits for the sleep); True if closing."""
        if seconds <= 0:
            return self.closing.is_set()
        self._waiting += 1
        try:
            return self.closing.wait(seconds)
        finally:
            self._waiting -= 1

    def close(self, wake: Callable[[], None], release: Callable[[], None], timeout: float = 2.0) -> None:
        """Stop the reader and run ``release`` once (idempotent)."""
        self.closing.set()
        wake()
        locked = self._lock.acquire(timeout=timeout)
        if not locked:
            log.warning("an input did not stop reading within %.1f s; closing it anyway", timeout)
        try:
            if not self._released:
                self._released = True
                release()
        finally:
            if locked:
                self._lock.release()
