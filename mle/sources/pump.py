"""Reading a source on its own thread into a bounded queue."""

from __future__ import annotations

import logging
import queue
import threading

from mle.errors import ConfigError
from mle.sources.base import Batch, Source

log = logging.getLogger("mle")


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
    except (OSError, ValueError) as exc:
        if not stop.is_set():
            log.error("input %s stopped: %s", source.tag, exc)
    except ConfigError as exc:
        log.error("%s", exc)


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
