#!/usr/bin/env python3
"""What each piece of Dragonfly's hello-world chain costs a worker, per event.

    python benchmarks/bench_chain_costs.py [--events 50000] [--passes 3]

Builds the chain up from pass-through one piece at a time (a second analyzer hop, a
Redis command per event, a second one, a field read, field writes, write-to-log's
``os.date``), then the whole chain without the instruction-budget hook, and what the
shipped analyzers pay on every event: ``mle.score`` annotations. Last, what handing each
event to Lua once as a table would cost instead (converting it there and back).
Each step runs in one worker in this process (no source or sink process: the figure
is the worker's own CPU) against the private Redis, on batches of 256 lines of the
reference workload. Steps are interleaved pass by pass, because the shared machines
this runs on drift by tens of percent within minutes; the median of the passes is
printed, as CPU microseconds per event, with what the step adds to the step it
builds on.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from bench_rounds import cpu_per_event
from bench_runtime import FILTER, FORWARD, WRITE_TO_LOG
from lupa.lua54 import LuaRuntime
from workload import workload

from mle.config import EngineSettings
from mle.lua.bridge import EventTracker

INCR = 'conn:command_line("INCR count:x")'
INCR_TYPE = 'conn:command_line("INCR count:" .. msg.event_type)'

# (step, the step it adds to (index), the first analyzer's loop body or None for
# pass-through, the sink, mle settings)
STEPS: list[tuple[str, int | None, str | None, str, str]] = [
    ("pass-through (input script -> analyzer -> output)", None, None, FORWARD, ""),
    ("a second analyzer hop", 0, "", FORWARD, ""),
    ("one Redis command per event (INCR)", 1, INCR, FORWARD, ""),
    ("a second Redis command per event", 2, f"{INCR} {INCR}", FORWARD, ""),
    ("the command's key from a field read", 2, INCR_TYPE, FORWARD, ""),
    ("the reply written into the event", 4, f"msg.event_count = {INCR_TYPE}", FORWARD, ""),
    ("write-to-log (os.date, a second write): the hello-world chain", 5, f"msg.event_count = {INCR_TYPE}",
     WRITE_TO_LOG, ""),
    ("without the instruction-budget hook (max_instructions = 0)", 6, f"msg.event_count = {INCR_TYPE}",
     WRITE_TO_LOG, "max_instructions = 0, "),
    ("an mle.score annotation on every event (no Redis)", 1, "mle.score(msg, 0.5)", FORWARD, ""),
    ("four more mle.score annotations on every event", 8, "for i = 1, 5 do mle.score(msg, i / 10) end",
     FORWARD, ""),
]


def make_step_root(base: Path, index: int, body: str | None, sink: str, settings: str) -> Path:
    """An MLE root for one step: filter -> [analyzer a ->] sink -> a file output."""
    root = base / f"step-{index}"
    (root / "inputs").mkdir(parents=True)
    (root / "analyzers").mkdir()
    (root / "inputs" / "filter.lua").write_text(FILTER)
    if body is None:
        (root / "analyzers" / "forward.lua").write_text(FORWARD)
        analyzers = '{ tag = "forward", script = "forward.lua", default_analyzer = "", default_output = "out" }'
        first = "forward"
    else:
        (root / "analyzers" / "a.lua").write_text(
            "function setup() conn = hiredis.connect() end\n"
            f"function loop(msg)\n  {body}\n  dragonfly.analyze_event(default_analyzer, msg)\nend\n")
        (root / "analyzers" / "sink.lua").write_text(sink)
        analyzers = ('{ tag = "a", script = "a.lua", default_analyzer = "sink", default_output = "" },\n'
                     '  { tag = "sink", script = "sink.lua", default_analyzer = "", default_output = "out" }')
        first = "a"
    (root / "config.lua").write_text(
        'inputs = { { tag = "eve", uri = "file:///dev/null", script = "filter.lua", '
        f'default_analyzer = "{first}" }} }}\n'
        f"analyzers = {{\n  {analyzers}\n}}\n"
        f'outputs = {{ {{ tag = "out", uri = "file://{base}/out-{index}.json" }} }}\n'
        f'mle = {{ {settings}run_dir = "{base}/run-{index}" }}\n'
    )
    return root


def table_conversion_costs(lines: list[bytes]) -> None:
    """What handing each event to Lua as a table would cost instead of the calls it saves:
    Python dict -> Lua table (lupa, recursive) and Lua table -> JSON (the engine's own
    rendering), beside orjson's parse, in CPU microseconds per event."""
    runtime = LuaRuntime()
    tracker = EventTracker(type(runtime.table()))
    started = time.process_time()
    events = [orjson.loads(line) for line in lines]
    parsed = time.process_time()
    tables = [runtime.table_from(event, recursive=True) for event in events]
    converted = time.process_time()
    for table in tables:
        tracker.render(table)
    rendered = time.process_time()
    per = 1e6 / len(lines)
    print(f"\nevents as Lua tables: orjson.loads {(parsed - started) * per:.1f} us, dict -> Lua table "
          f"{(converted - parsed) * per:.1f} us, Lua table -> JSON {(rendered - converted) * per:.1f} us per event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    lines = workload(args.events).read_bytes().splitlines()
    with tempfile.TemporaryDirectory(prefix="mle-chain-") as tmp:
        base = Path(tmp)
        roots = [make_step_root(base, i, body, sink, settings) for i, (_, _, body, sink, settings) in enumerate(STEPS)]
        samples: list[list[float]] = [[] for _ in STEPS]
        for _ in range(args.passes):
            for i, root in enumerate(roots):
                samples[i].append(cpu_per_event(root, EngineSettings.round_size, lines))
    print(f"{args.events:,} events of the reference workload, one worker in this process, "
          f"median of {args.passes} interleaved passes (CPU us per event)\n")
    medians = [statistics.median(values) for values in samples]
    print(f"{'step':>4s} {'us/event':>8s} {'added':>16s}")
    for i, ((step, base_step, *_), median) in enumerate(zip(STEPS, medians, strict=True)):
        added = "" if base_step is None else f"{median - medians[base_step]:+.1f} to step {base_step}"
        print(f"{i:4d} {median:8.1f} {added:>16s}  {step}")
    table_conversion_costs(lines)


if __name__ == "__main__":
    main()
