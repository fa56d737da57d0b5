"""Python's cyclic garbage collector, tuned for processes that move events."""

from __future__ import annotations

import gc

#: Every 100,000 allocations instead of 700. Events, batches and replies are acyclic and
#: freed by reference counting when a batch ends; collections over them find nothing.
#: Measured (py-spy, the hello-world chain): they took 10 % of a worker's CPU.
GC_THRESHOLDS = (100_000, 50, 100)


def relax_cyclic_gc() -> None:
    """Run the cyclic collector rarely (:data:`GC_THRESHOLDS`)."""
    gc.set_threshold(*GC_THRESHOLDS)
