#!/usr/bin/env python3
"""Machine instructions per event of one worker, counted by valgrind: a figure that does
not drift with the machine.

    python benchmarks/bench_instructions.py [--events 2000 6000] [--jobs 2] [--no-ablate]

The shared machines these benchmarks run on drift by tens of percent within minutes,
so a CPU-time A/B of a change worth a few percent needs many interleaved passes. An
instruction count is the same from run to run (within about 1 %; a difference of two
figures moves more), so it says at once whether a change to the per-event path does
less work (it does not see cache misses or system calls: confirm a win in time with
the other benchmarks).

Each figure runs one worker in a child process (as ``bench_rounds.py`` does: the
private Redis, batches of 256 lines of the reference workload, no source or sink
process) under ``valgrind --tool=cachegrind --cache-sim=no``, once on the first N1
and once on the first N2 events, and prints (I(N2) - I(N1)) / (N2 - N1): start-up
cancels out. Figures:

- the pass-through and hello-world chains of ``bench_runtime.py``, in an MLE root and
  in a Dragonfly root (what issue 9 compares with the C engine: LuaJIT, analyzer order),
  the latter also without the budget hook;
- the repository's default pipeline, and the same with ``max_instructions = 0`` (what
  the instruction-budget hook costs);
- unit costs on routed analyzers that take flow, dns, tls and http events (90 % of the
  workload): an empty one (a hop), a second empty one, one that reads three fields,
  one that calls ``mle.score`` (an event's first annotation), a second one that does;
- (unless ``--no-ablate``) the default pipeline without each shipped analyzer in turn:
  what that analyzer costs per input event, its hop and annotation included.

Needs valgrind (Debian: ``apt-get install valgrind``). Takes ~5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

ROUTED = 'analyzer = { event_types = { "flow", "dns", "tls", "http" }, order = %d }\nfunction loop(msg) %s end\n'

# unit costs: (name, {file name: loop body}, the figure it is compared with; None: a
# base that is not printed)
UNITS: list[tuple[str, dict[str, str], str | None]] = [
    ("routing with no analyzer", {}, None),
    ("one empty analyzer (a hop)", {"a": ""}, "routing with no analyzer"),
    ("a second empty analyzer", {"a": "", "b": ""}, "one empty analyzer (a hop)"),
    ("three field reads", {"a": "local x, y, z = msg.src_ip, msg.dest_ip, msg.event_type"},
     "one empty analyzer (a hop)"),
    ("mle.score, the event's first annotation", {"a": "mle.score(msg, 0)"}, "one empty analyzer (a hop)"),
    ("a score, then an empty analyzer", {"a": "mle.score(msg, 0)", "b": ""}, None),
    ("mle.score in a second analyzer", {"a": "mle.score(msg, 0)", "b": "mle.score(msg, 0)"},
     "a score, then an empty analyzer"),
]


def child(scenario: str, events: int, extra_mle: str, analyzers: dict[str, str] | None, drop: str,
          prepare: Callable[[Any], None] | None = None) -> None:
    """Run one worker over the first ``events`` events (inside valgrind here; also used
    by ``bench_lua_profile.py``, whose ``prepare`` gets the started worker)."""
    sys.path.insert(0, str(HERE))
    from bench_rounds import cpu_per_event
    from bench_runtime import make_root
    from workload import workload

    from mle.config import EngineSettings
    from mle.root import Root

    with open(workload(100_000), "rb") as eve:
        lines = [line.rstrip(b"\n") for line, _ in zip(eve, range(events), strict=False)]  # as sources frame them
    with tempfile.TemporaryDirectory(prefix="mle-instr-") as base:
        root = make_root(Path(base), scenario, "file:///dev/null", f"file://{base}/out.json")
        folder = root / "analyzers"
        if analyzers is not None:
            for script in folder.glob("*.lua"):
                script.unlink()
            for order, (name, body) in enumerate(sorted(analyzers.items()), 30):
                (folder / f"{name}.lua").write_text(ROUTED % (order, body))
        if drop:
            (folder / f"{drop}.lua").unlink()
        if extra_mle:
            config = Root.locate(root).config_file
            config.write_text(config.read_text().replace("mle = { ", f"mle = {{ {extra_mle}, ", 1))
        cpu_per_event(root, EngineSettings.round_size, lines, prepare)


def instructions(args: list[str]) -> int:
    """Instructions valgrind counted for this script run as a child with ``args``."""
    run = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"child {args} failed:\n{run.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_event(n1: int, n2: int, args: list[str]) -> float:
    return (instructions([str(n2), *args]) - instructions([str(n1), *args])) / (n2 - n1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, nargs=2, default=[2000, 6000], metavar=("N1", "N2"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-ablate", action="store_true")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        events, scenario, extra, units, drop = args.child
        analyzers = dict(UNITS[int(units)][1]) if units != "-" else None
        child(scenario, int(events), extra, analyzers, drop)
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions.py needs valgrind (Debian: apt-get install valgrind)")

    figures: list[tuple[str, list[str]]] = [
        ("pass-through", ["pass-through", "", "-", ""]),
        ("hello-world", ["hello-world", "", "-", ""]),
        ("Dragonfly root pass-through (LuaJIT)", ["dragonfly-pass-through", "", "-", ""]),
        ("Dragonfly root hello-world (LuaJIT)", ["dragonfly-hello-world", "", "-", ""]),
        ("Dragonfly root hello-world, max_instructions = 0",
         ["dragonfly-hello-world", "max_instructions = 0", "-", ""]),
        ("default pipeline", ["default-pipeline", "", "-", ""]),
        ("default pipeline, max_instructions = 0", ["default-pipeline", "max_instructions = 0", "-", ""]),
    ]
    figures += [(name, ["default-pipeline", "", str(i), ""]) for i, (name, _, _) in enumerate(UNITS)]
    analyzers = sorted(p.stem for p in (REPO / "analyzers").glob("*.lua"))
    if not args.no_ablate:
        figures += [(f"default pipeline without {a}", ["default-pipeline", "", "-", a]) for a in analyzers]
    n1, n2 = args.events
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        counts = dict(zip((name for name, _ in figures),
                          pool.map(lambda figure: per_event(n1, n2, figure[1]), figures), strict=True))

    print(f"instructions per event, one worker, events {n1:,} -> {n2:,} of the reference workload")
    for name in ("pass-through", "hello-world", "default pipeline", "Dragonfly root pass-through (LuaJIT)",
                 "Dragonfly root hello-world (LuaJIT)"):
        print(f"  {name:40s} {counts[name]:>9,.0f}")
        unhooked = counts.get(f"{name.removesuffix(' (LuaJIT)')}, max_instructions = 0")
        if unhooked is not None:
            hook = counts[name] - unhooked
            print(f"  {'  of which the budget hook':40s} {hook:>9,.0f}  ({hook / counts[name]:.0%})")
    full = counts["default pipeline"]
    print("unit costs, per input event (routed analyzers that take 90 % of the events):")
    for name, _, base in UNITS:
        if base is not None:
            print(f"  {name:40s} {counts[name] - counts[base]:>+9,.0f}")
    if not args.no_ablate:
        print("what each shipped analyzer costs the default pipeline, per input event:")
        for a in analyzers:
            share = full - counts[f"default pipeline without {a}"]
            print(f"  {a:40s} {share:>9,.0f}  ({share / full:.0%})")


if __name__ == "__main__":
    main()
