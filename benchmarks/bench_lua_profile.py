#!/usr/bin/env python3
"""Where a worker's Lua time goes: VM instructions per event by file, kernel function and line.

    python benchmarks/bench_lua_profile.py [--scenario default-pipeline] [--events 30000]
                                            [--every 1009] [--top 30]

Runs one worker in this process (as ``bench_rounds.py`` does: the private Redis,
batches of 256 lines of the reference workload) with a count hook on the Lua main
thread that fires every ``--every`` VM instructions and charges them to the file and
line running at that moment. The engine's own instruction budget uses that hook, so
the run sets ``max_instructions = 0``; code in script coroutines (scripts that talk to
Redis) is not sampled, and C functions (string library, calls into Python) count as
the one instruction that called them: the figures say which Lua code runs most, not
what an event costs in all (``bench_instructions.py`` counts machine instructions).
Keep the interval large and prime: the hook's own instructions run the count down too,
so a short interval inflates the totals (every 10: 5,449 per event of the default
pipeline; every 101: 1,966; every 307: 1,731; every 1009: 1,663), and a round one can
beat in step with a loop.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SAMPLER = """
function(debug, every)
  local counts, getinfo = {}, debug.getinfo
  debug.sethook(function()
    local info = getinfo(2, "Sl")
    if info then
      local where = info.short_src .. ":" .. (info.currentline or 0)
      counts[where] = (counts[where] or 0) + 1
    end
  end, "", every)
  return counts
end
"""


def kernel_functions(path: Path) -> dict[int, str]:
    """Line number -> the name of the function kernel.lua defines around it."""
    owner, current = {}, "(top level)"
    for number, line in enumerate(path.read_text().splitlines(), 1):
        found = re.match(r"^(?:local )?function ([\w.]+)|^([\w.]+) = function", line)
        if found:
            current = next(name for name in found.groups() if name)
        owner[number] = current
    return owner


def profile(scenario: str, events: int, every: int) -> Counter:
    """Sampled VM instructions per file:line over the first ``events`` events."""
    sys.path.insert(0, str(HERE))
    from bench_instructions import child

    counts: dict[str, Any] = {}

    def prepare(worker: Any) -> None:
        lua = worker.engine.lua
        counts["table"] = lua.eval(SAMPLER)(lua.globals().debug, every)

    child(scenario, events, "max_instructions = 0", None, "", prepare)
    return Counter({str(k): int(v) * every for k, v in counts["table"].items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sys.path.insert(0, str(HERE))
    from bench_runtime import SCENARIOS

    parser.add_argument("--scenario", default="default-pipeline", choices=SCENARIOS)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--every", type=int, default=1009, help="sample every N VM instructions")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    samples = profile(args.scenario, args.events, args.every)
    per_event = {where: n / args.events for where, n in samples.items()}
    by_file: Counter = Counter()
    by_kernel_function: Counter = Counter()
    owner = kernel_functions(REPO / "mle" / "lua" / "kernel.lua")
    for where, n in per_event.items():
        path, _, line = where.rpartition(":")
        by_file[path] += n
        if path.endswith("mle/lua/kernel.lua"):
            by_kernel_function[owner.get(int(line), "?")] += n
    print(f"Lua VM instructions per event, {args.scenario}, {args.events:,} events of the reference workload "
          f"(main thread, sampled every {args.every}): {sum(per_event.values()):,.0f}")
    print("by file:")
    for path, n in by_file.most_common(args.top):
        print(f"  {n:8,.0f}  {path}")
    print("kernel.lua by function:")
    for name, n in by_kernel_function.most_common(args.top):
        print(f"  {n:8,.0f}  {name}")
    print("lines:")
    for where, n in sorted(per_event.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {n:8,.0f}  {where}")


if __name__ == "__main__":
    main()
