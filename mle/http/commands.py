"""What the HTTP API asks the engine's main loop to do.

HTTP threads must not touch a Lua state or a ZeroMQ socket: they queue a
:class:`Command` and wait on its future; the engine's main loop takes the queue
(:meth:`CommandQueue.take`) between its other work and sets each result.
"""

from __future__ import annotations

import queue
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

FEEDBACK = "feedback"  # payload: {"verdict": {...}, "worker": index}; result: analyzers that took it
RELOAD = "reload"  # payload: {}; result: True when the new scripts loaded


class CommandFailed(Exception):
    """The engine could not carry a command out (the message says why)."""


@dataclass
class Command:
    """One request for the engine's main loop, and the future its answer goes to."""

    kind: str
    payload: dict[str, Any]
    future: Future = field(default_factory=Future)
    queued: float = field(default_factory=time.monotonic)

    def expired(self, seconds: float) -> bool:
        """The requester has given up waiting (queued longer than ``seconds`` ago)."""
        return time.monotonic() - self.queued > seconds


class CommandQueue:
    """Thread-safe: HTTP threads :meth:`submit`, the engine's main loop :meth:`take`."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()

    def submit(self, kind: str, payload: dict[str, Any] | None = None) -> Future:
        command = Command(kind, payload or {})
        self._queue.put(command)
        return command.future

    def take(self) -> list[Command]:
        """Every command queued so far (never blocks)."""
        taken: list[Command] = []
        while True:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                return taken
