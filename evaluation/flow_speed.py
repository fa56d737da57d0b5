#!/usr/bin/env python3
"""CPU cost of the beacon, scan and bruteforce analyzers per event, measured inside the engine.

    .venv/bin/python evaluation/flow_speed.py [--events 50000] [--eve FILE]

Each shipped analyzer is copied into a throwaway root with its ``loop`` wrapped by
``os.clock`` (process CPU time); ``mle replay --workers 0`` runs the benchmark
workload (``benchmarks/workload.py``: gen_eve.py, seed 42, flow 40 %, dns 25 %,
http 13 %, tls 12 %, alert 10 %, nearly every event a new src_ip) through all three
at once. Printed per analyzer: microseconds per event it handles and per event of the
mix (the budget's unit), with the cost of the clock reads themselves subtracted.
A busy machine inflates every figure; take the lowest of a few runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TAGS = ("beacon", "scan", "bruteforce")

WRAP = """
local __clock, __n, __cpu, __probe = os.clock, 0, 0, 0
do  -- the cost of two clock reads, subtracted from each event
  local c = __clock()
  for _ = 1, 1000 do __clock() end
  __probe = 2 * (__clock() - c) / 1000
end
local __loop = loop
function loop(msg)
  local c = __clock()
  __loop(msg)
  __cpu = __cpu + (__clock() - c) - __probe
  __n = __n + 1
  if __n %% %(every)d == 0 then print(string.format("cost %%d events %%.3f s", __n, __cpu)) end
end
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=50_000, help="events of the benchmark workload (default 50,000)")
    ap.add_argument("--eve", type=Path, help="an EVE file instead of the workload")
    args = ap.parse_args()
    if args.eve:
        eve = args.eve
    else:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from workload import workload

        eve = workload(args.events)
    total = sum(1 for _ in eve.open())
    with tempfile.TemporaryDirectory(prefix="mle-speed-") as tmp:
        root = Path(tmp)
        (root / "analyzers").mkdir()
        (root / "inputs").mkdir()
        shutil.copy(REPO / "inputs" / "suricata-filter.lua", root / "inputs")
        for tag in TAGS:
            src = (REPO / "analyzers" / f"{tag}.lua").read_text()
            (root / "analyzers" / f"{tag}.lua").write_text(src + WRAP % {"every": 4000})
        (root / "config.lua").write_text(
            'inputs = { { tag = "eve", uri = "file:///dev/null", script = "suricata-filter.lua" } }\n'
            'outputs = { { tag = "out", uri = "file:///dev/null" } }\n'
            'mle = { shard_key = "src_ip" }\n'
        )
        mle = Path(sys.executable).with_name("mle")
        res = subprocess.run(
            [str(mle), "replay", str(eve), "-r", str(root), "--workers", "0", "--top", "0", "--no-progress"],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            sys.exit(res.stdout + res.stderr)
    last: dict[str, tuple[int, float]] = {}
    for line in (res.stdout + res.stderr).splitlines():
        m = re.search(r"analyzer (\S+): cost (\d+) events ([\d.]+) s", line)
        if m:
            last[m.group(1)] = (int(m.group(2)), float(m.group(3)))
    print(f"{eve}: {total:,} events")
    mix = 0.0
    for tag in TAGS:
        n, cpu = last.get(tag, (0, 0.0))
        per_mix = cpu / total * 1e6
        mix += per_mix
        each = cpu / max(n, 1) * 1e6
        print(f"  {tag:<11} {n:>7,} events handled  {each:6.1f} us each  {per_mix:5.1f} us per event of the mix")
    print(f"  {'together':<11} {'':>7}                               {mix:5.1f} us per event of the mix")
    return 0


if __name__ == "__main__":
    sys.exit(main())
