#!/usr/bin/env python3
"""What stepping Lua's collector costs a worker: after every batch, every N events, or
by the engine's own rule.

    python benchmarks/bench_lua_gc.py [--events 100000] [--passes 3] [--every 64 2048 0]

After each batch the worker hands the kernel the batch's event count; the kernel runs
one minor collection of Lua 5.4's generational collector (which frees the wrappers
holding the batches' Python events) once per 16 KB of heap worth of events, and at
least every 2,048 (kernel.lua, K.collect). A minor collection costs per collection as
well as per event: it re-walks every old table written since the last one, and the
shipped analyzers write their per-host tables and LRUs on nearly every event. This
script runs the repository's default pipeline (shard_key src_ip, every shipped
analyzer), Dragonfly's hello-world chain and pass-through in one worker in this
process, against the private Redis, on batches of 256 lines of the reference
workload, stepping every ``--every`` events (0: the engine's rule), and prints CPU
microseconds per event in all and inside the engine's explicit steps (collections that
allocation triggers mid-batch count in the total only), median of interleaved passes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench_rounds import cpu_per_event
from bench_runtime import make_root
from workload import workload

from mle.config import EngineSettings
from mle.worker import Worker

SCENARIOS = ("default-pipeline", "hello-world", "pass-through")


def run(root: Path, lines: list[bytes], every: int) -> tuple[float, float]:
    """(CPU us per event, of which in explicit steps) with a step every ``every`` events."""
    in_collector = [0.0]

    def step_every(worker: Worker) -> None:
        kernel = worker.engine.kernel
        since = [0]

        def collect(events: int) -> None:
            started = time.process_time()
            if every == 0:
                kernel.collect(events)  # the engine's own rule
            else:
                since[0] += events
                if since[0] >= every:
                    kernel.collect(1 << 30)  # past any MINOR_EVERY: a step now
                    since[0] = 0
            in_collector[0] += time.process_time() - started

        worker.engine.collect_garbage = collect

    total = cpu_per_event(root, EngineSettings.round_size, lines, step_every)
    return total, in_collector[0] / len(lines) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--every", type=int, nargs="+", default=[EngineSettings.round_size, 2048, 0],
                        help="events between minor collections; 0: the engine's own rule")
    args = parser.parse_args()
    path = workload(args.events)
    lines = path.read_bytes().splitlines()
    with tempfile.TemporaryDirectory(prefix="mle-gc-") as tmp:
        base = Path(tmp)
        roots = {scenario: make_root(base, scenario, f"file://{path}", f"file://{base}/{scenario}-out.json")
                 for scenario in SCENARIOS}
        samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for _ in range(args.passes):
            for scenario, root in roots.items():
                for every in args.every:
                    samples.setdefault((scenario, every), []).append(run(root, lines, every))
    print(f"{args.events:,} events of the reference workload, one worker in this process, "
          f"median of {args.passes} interleaved passes\n")
    for (scenario, every), values in samples.items():
        total = statistics.median(v[0] for v in values)
        collector = statistics.median(v[1] for v in values)
        rule = "the engine's rule" if every == 0 else f"every {every:>5,} events"
        print(f"{scenario:17s} minor collections {rule:>17s}: {total:6.1f} us CPU/event, "
              f"{collector:5.1f} of them in explicit steps")


if __name__ == "__main__":
    main()
