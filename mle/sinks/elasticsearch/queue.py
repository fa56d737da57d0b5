"""The requests waiting for a sender: a few in memory, the overflow on disk while
the cluster is down, and a bound on both, beyond which producers wait."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from mle.sinks.elasticsearch.encode import Item, bulk_body, split_body
from mle.sinks.elasticsearch.spill import Spill, SpillFile

WAIT_SLICE = 0.2


@dataclass
class BulkRequest:
    """A sealed batch of items, and the spill file holding it if it came from disk."""

    items: list[Item]
    size: int
    spilled: SpillFile | None = None


class RequestQueue:
    """FIFO of requests. :meth:`put` keeps a request in memory while fewer than
    ``slots`` wait there; when memory is full and ``outage`` is set (the cluster is
    unreachable) it writes the request to the spill instead, and once anything is
    in the spill every new request goes behind it (first in, first out). When
    neither has room, :meth:`put` waits: backpressure."""

    def __init__(self, slots: int, spill: Spill | None, outage: threading.Event) -> None:
        self.slots = slots
        self.spill = spill
        self.outage = outage
        self._memory: deque[BulkRequest] = deque()
        self._cond = threading.Condition()
        self._unfinished = spill.waiting if spill is not None else 0  # requests not yet done
        self._closed = False

    def put(self, request: BulkRequest, give_up: Callable[[], bool] = lambda: False) -> str | None:
        """Queue a request: returns "memory" or "spill", or None if ``give_up()`` became
        true while waiting for room."""
        with self._cond:
            while True:
                backlog = self.spill is not None and self.spill.waiting > 0
                if not backlog and len(self._memory) < self.slots:
                    self._memory.append(request)
                    self._unfinished += 1
                    self._cond.notify_all()
                    return "memory"
                spill_it = self.spill is not None and (backlog or self.outage.is_set())
                if spill_it and self.spill.push(bulk_body(request.items)) is not None:  # type: ignore[union-attr]
                    self._unfinished += 1
                    self._cond.notify_all()
                    return "spill"
                if give_up():
                    return None
                self._cond.wait(WAIT_SLICE)

    def get(self, timeout: float) -> BulkRequest | None:
        """The oldest request (memory first: it is older than anything in the spill),
        or None after ``timeout`` seconds, or at once when closed and empty."""
        with self._cond:
            while True:
                if self._memory:
                    request = self._memory.popleft()
                    self._cond.notify_all()
                    return request
                if self.spill is not None and self.spill.waiting:
                    popped = self.spill.pop()
                    if popped is None:  # unreadable, already logged and removed
                        self._unfinished -= 1
                        continue
                    spilled, body = popped
                    try:
                        items = split_body(body)
                    except ValueError:
                        self.spill.remove(spilled)
                        self._unfinished -= 1
                        continue
                    self._cond.notify_all()
                    return BulkRequest(items, len(body), spilled)
                if self._closed or not self._cond.wait(timeout):
                    return None

    def done(self, request: BulkRequest) -> None:
        """Every item of ``request`` is settled (delivered, duplicate or dead-lettered)."""
        if request.spilled is not None and self.spill is not None:
            self.spill.remove(request.spilled)
        with self._cond:
            self._unfinished -= 1
            self._cond.notify_all()

    def join(self, timeout: float | None) -> bool:
        """Wait until every request put so far is done; False after ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unfinished <= 0, timeout)

    @property
    def unfinished(self) -> int:
        with self._cond:
            return self._unfinished

    def close(self) -> list[BulkRequest]:
        """Stop handing out requests; returns those still in memory (the spill keeps its own)."""
        with self._cond:
            self._closed = True
            left, self._memory = list(self._memory), deque()
            self._unfinished -= len(left)
            self._cond.notify_all()
        return left
