"""The interface every input connector implements.

A source reads records from one place and hands them over as batches of raw
lines (bytes, without the newline). The engine calls :meth:`Source.read_batch`
from one thread per source; it may block up to ``timeout`` seconds and returns
an empty batch when nothing arrived, or ``None`` once a finite source is done.

Delivery: at-least-once where the transport can acknowledge (``Batch.on_done``
runs after every output accepted the batch's results), otherwise what the
transport gives (a unix datagram socket drops when full: Suricata's choice).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from mle.connectors import Context, Endpoint

log = logging.getLogger("mle.input")


@dataclass(slots=True)
class Batch:
    """Raw lines from one input, and what to do once their results are written."""

    input: str
    lines: list[bytes]
    on_done: Callable[[], None] | None = None
    size: int = 0  # bytes consumed from the source (for progress)
    read_at: float = field(default_factory=monotonic)  # when it was read (latency is measured from here)


@dataclass
class SourceStats:
    """Counters every source keeps."""

    lines: int = 0
    bytes: int = 0
    errors: Counter = field(default_factory=Counter)  # reason -> count (I/O, framing)
    failure: str = ""  # why the input stopped before its end, in one line ("" if it did not)


class Source(ABC):
    """One input. Subclasses set ``OPTIONS`` (extra config keys and their types)."""

    OPTIONS: Mapping[str, type | tuple] = {}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        self.tag = tag
        self.endpoint = endpoint
        self.context = context
        self.stats = SourceStats()
        self._ready: list[bytes] = []  # lines read beyond the last batch, handed out next time

    @property
    def description(self) -> str:
        """What the summary and logs call this source."""
        return f"{self.endpoint.scheme}://{self.endpoint.rest}"

    def preflight(self) -> None:  # noqa: B027 - optional hook
        """Check, without acquiring anything, what would stop this input at start (``mle
        check``: a ``file://`` input's file must be readable). Raise ConfigError/OSError."""

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire resources (bind sockets, open files). Raise ConfigError/OSError."""

    def failed(self, error: Exception) -> None:
        """This input stopped early because of ``error``: say so in one line of the log
        and keep it for the summary (which makes the run's exit status non-zero)."""
        self.stats.failure = str(error)
        log.error("input %s stopped: %s", self.tag, error)

    @abstractmethod
    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        """Up to ``max_lines`` lines, waiting at most ``timeout`` s; an empty batch when
        idle, None when a finite source is exhausted."""

    def take(self, lines: list[bytes], max_lines: int, received: int) -> Batch:
        """A batch of at most ``max_lines`` of ``lines`` (the rest waits in ``_ready``
        for the next call), counted in the source's stats."""
        if len(lines) > max_lines:
            lines, self._ready = lines[:max_lines], lines[max_lines:]
        self.stats.lines += len(lines)
        self.stats.bytes += received
        return Batch(self.tag, lines, size=received)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; a blocked read_batch returns soon after."""

    def progress(self) -> tuple[int, int | None]:
        """(bytes consumed, total bytes or None) for a progress bar."""
        return self.stats.bytes, None
