"""The interface every output connector implements.

A sink receives batches of rendered JSON documents (bytes, no newline) and
writes them. :meth:`Sink.write_batch` blocks while the destination is slow,
which is how backpressure reaches the inputs; it raises only for a failure the
sink cannot recover from. Documents a destination rejects for good go to the
dead-letter file with the reason, never nowhere; ``stats`` says how many, and how
many were left over at close (kept for the next start), so the summary can say
what became of every document an output accepted.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mle.connectors import Context, Endpoint

log = logging.getLogger("mle.sinks")


@dataclass
class SinkStats:
    """Counters every sink keeps."""

    lines: int = 0
    bytes: int = 0
    errors: Counter = field(default_factory=Counter)
    dead_lettered: int = 0  # documents given up on (written to the dead-letter file)
    left_over: int = 0  # documents not delivered at close, kept for the next start (e.g. a spill folder)
    left_where: str = ""  # where those wait
    existing_lines: int = 0  # lines the destination already held at open (a file appended to)


class Sink(ABC):
    """One output. Subclasses set ``OPTIONS`` (extra config keys and their types)."""

    OPTIONS: Mapping[str, type | tuple] = {}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        self.tag = tag
        self.endpoint = endpoint
        self.context = context
        self.stats = SinkStats()

    @property
    def description(self) -> str:
        return f"{self.endpoint.scheme}://{self.endpoint.rest}"

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire resources. Raise OSError with a clear message on failure."""

    @abstractmethod
    def write_batch(self, lines: list[bytes]) -> None:
        """Write every document of the batch (blocking while the destination is slow)."""

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Push buffered data to the destination."""

    def reopen(self) -> None:  # noqa: B027 - optional hook
        """Re-open the destination (SIGHUP, after logrotate moved a file)."""

    def rotate(self) -> None:  # noqa: B027 - optional hook
        """Rotate (SIGUSR1, Dragonfly's signal): files are renamed with a time suffix."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources."""

    def _write_dead_letters(self, documents: list[bytes], reason: str, detail: str) -> None:
        """Write documents the destination will never take to the dead-letter file with the
        reason; without a dead-letter file the loss is logged as an error, never silent."""
        self.stats.dead_lettered += len(documents)
        writer = self.context.dead_letters
        if writer is None:
            log.error("output %s: %d documents lost (%s: %s): no dead-letter file", self.tag, len(documents),
                      reason, detail)
            return
        for document in documents:
            writer.write(f"output {self.tag}", reason, detail, document)
