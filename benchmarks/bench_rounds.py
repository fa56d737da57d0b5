#!/usr/bin/env python3
"""How many events a worker should run through Lua at once (``round_size``).

    python benchmarks/bench_rounds.py [--events 100000] [--sizes 16 32 64 128 256] [--passes 3]

Runs one worker in this process (no source or sink processes, so the figure is the
worker's own CPU) against the private Redis, on batches of 256 lines of the
reference workload, for each round size and for the pass-through and hello-world
chains of ``bench_runtime.py``. The sizes are interleaved pass by pass, because the
shared machines this runs on drift by tens of percent within minutes; the median
of the passes is printed, as CPU microseconds per event.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bench_runtime import make_root
from workload import workload

from mle.config import load_config
from mle.deadletter import DeadLetterWriter
from mle.pipeline import connect_redis, start_redis
from mle.root import Root
from mle.worker import Worker

BATCH = 256


def cpu_per_event(root: Path, round_size: int, lines: list[bytes],
                  prepare: Callable[[Worker], None] | None = None) -> float:
    """CPU microseconds per event of one worker with ``round_size`` over ``lines``
    (``prepare`` is called with the started worker first)."""
    config = load_config(Root.locate(root), {"round_size": round_size})
    private, address = start_redis(config)
    try:
        pipe = connect_redis(config, address, threading.Event())
        worker = Worker(config, pipe, DeadLetterWriter(root / "dead-letter.jsonl"))
        worker.start()
        if prepare is not None:
            prepare(worker)
        started = time.process_time()
        for i in range(0, len(lines), BATCH):
            worker.process(lines[i : i + BATCH], "eve")
        return (time.process_time() - started) / len(lines) * 1e6
    finally:
        if private is not None:
            private.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    lines = workload(args.events).read_bytes().splitlines()
    with tempfile.TemporaryDirectory(prefix="mle-rounds-") as base:
        for scenario in ("pass-through", "hello-world"):
            root = make_root(Path(base), scenario, "file:///dev/null", f"file://{base}/{scenario}-out.json")
            samples: dict[int, list[float]] = {size: [] for size in args.sizes}
            for _ in range(args.passes):
                for size in args.sizes:
                    samples[size].append(cpu_per_event(root, size, lines))
            for size in args.sizes:
                runs = " ".join(f"{v:.1f}" for v in samples[size])
                print(f"{scenario:13s} round_size={size:<4d} {statistics.median(samples[size]):6.1f} us CPU/event"
                      f"   (passes: {runs})")


if __name__ == "__main__":
    main()
