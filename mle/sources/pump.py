"""Reading sources: on their own threads into a bounded queue (run), or one after another (replay)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from mle.errors import ConfigError
from mle.sources.base import Batch, Source

INPUT_ERRORS = (OSError, ValueError, ConfigError)  # what stops one input, not the engine


def pump(source: Source, batches: queue.Queue[Batch], stop: threading.Event, batch_size: int, linger: float) -> None:
    """Read batches from ``source`` into ``batches`` until it ends or ``stop`` is set.
    A full queue makes this thread wait, so a slow consumer stops the reading."""
    try:
        while not stop.is_set():
            batch = source.read_batch(batch_size, linger)
            if batch is None:
                return
            if not batch.lines:
                continue
            while True:
                try:
                    batches.put(batch, timeout=0.2)
                    break
                except queue.Full:
                    continue  # the consumer (or its drain) is still taking batches
    except INPUT_ERRORS as exc:
        if not stop.is_set():
            source.failed(exc)


def start_pumps(sources: list[Source], batches: queue.Queue[Batch], stop: threading.Event, batch_size: int,
                linger: float) -> list[threading.Thread]:
    """Open every source and start one pumping thread per source."""
    for source in sources:
        source.open()
    threads = [
        threading.Thread(target=pump, args=(s, batches, stop, batch_size, linger), name=f"input-{s.tag}", daemon=True)
        for s in sources
    ]
    for thread in threads:
        thread.start()
    return threads


def read_to_end(source: Source, batch_size: int, stop: threading.Event, deliver: Callable[[Batch], None]) -> None:
    """Replay one source: open it and hand every batch with lines to ``deliver`` until it
    ends or ``stop`` is set. A source that cannot be opened or read records the failure
    (:meth:`Source.failed`) after handing over what it read; the caller goes on with the
    next source."""
    try:
        source.open()
    except INPUT_ERRORS as exc:
        source.failed(exc)
        return
    try:
        while not stop.is_set():
            try:
                batch = source.read_batch(batch_size, 0.0)
            except INPUT_ERRORS as exc:
                source.failed(exc)
                return
            if batch is None:
                return
            if batch.lines:
                deliver(batch)
    finally:
        source.close()
