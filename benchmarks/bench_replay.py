#!/usr/bin/env python3
"""Replay a large generated EVE file through MLE and print events/s and peak RSS.

    python benchmarks/bench_replay.py [--events 1000000] [--runtime lua54] [--scenario all]

Scenarios (each a fresh `mle replay` process with its private Redis):
  pass-through   input script -> forwarding analyzer -> file output
  count          input script -> a counting analyzer (one HINCRBY per event type, a
                 score on every event, a finding on the first of each type) -> file output
  ecs            pass-through with the shipped outputs/ecs.lua formatting each event
                 (string.gsub/match on every record: the cost of bounded patterns)

The workload is ``gen_eve.py`` (the reference generator, seed 42: flow 40 %, dns 25 %,
http 13 %, tls 12 %, alert 10 %; 407-1203 bytes per line), cached under
``benchmarks/.cache/``. Timing belongs here, not in the test suite.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workload import workload

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end\n"
PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"
COUNT = """
function setup() redis = assert(hiredis.connect()) end
function loop(msg)
  local n = redis:command("HINCRBY", "bench:types", msg.event_type, 1)
  if n == 1 then mle.finding(msg, 1.0, "first " .. msg.event_type) else mle.score(msg, 1 / n) end
  dragonfly.output_event(default_output, msg)
end
"""


def make_root(base: Path, scenario: str, eve: Path) -> Path:
    root = base / scenario
    (root / "inputs").mkdir(parents=True)
    (root / "analyzers").mkdir()
    output_script = ""
    if scenario in ("pass-through", "ecs"):
        (root / "inputs/filter.lua").write_text(FORWARD)
        (root / "analyzers/forward.lua").write_text(PASS)
        filter_script, analyzer_tag, analyzer_script = "filter.lua", "forward", "forward.lua"
        if scenario == "ecs":
            (root / "outputs").mkdir()
            shutil.copy(REPO / "outputs/ecs.lua", root / "outputs")
            output_script = ', script = "ecs.lua"'
    else:
        shutil.copy(REPO / "inputs/suricata-filter.lua", root / "inputs")
        (root / "analyzers/count.lua").write_text(COUNT)
        filter_script, analyzer_tag, analyzer_script = "suricata-filter.lua", "count", "count.lua"
    (root / "config.lua").write_text(
        f'inputs = {{ {{ tag = "eve", uri = "file://{eve}", script = "{filter_script}", '
        f'default_analyzer = "{analyzer_tag}" }} }}\n'
        f'analyzers = {{ {{ tag = "{analyzer_tag}", script = "{analyzer_script}", default_output = "out" }} }}\n'
        f'outputs = {{ {{ tag = "out", uri = "file://{base}/{scenario}-out.json<"{output_script} }} }}\n'
    )
    return root


def run(root: Path, runtime: str, workers: int) -> tuple[float, float, str]:
    """(seconds of processing as MLE reports it, peak RSS of the engine in MiB, summary)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "mle", "replay", "-r", str(root), "--runtime", runtime, "--no-progress",
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "200"},
    )
    stderr = process.stderr.read().decode() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"mle replay failed:\n{stderr}")
    wall = time.monotonic() - started
    match = re.search(r"in ([\d.]+) s \(", stderr)
    seconds = float(match.group(1)) if match else wall
    return seconds, usage.ru_maxrss / 1024, stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runtime", default="lua54", choices=["lua54", "luajit"])
    parser.add_argument("--scenario", default="all", choices=["all", "pass-through", "count", "ecs"])
    parser.add_argument("--workers", type=int, default=0, help="0: everything in one process (default)")
    args = parser.parse_args()
    eve = workload(args.events)
    scenarios = ["pass-through", "count", "ecs"] if args.scenario == "all" else [args.scenario]
    print(f"{'scenario':<14} {'runtime':<8} {'events':>10} {'seconds':>8} {'events/s':>10} {'peak RSS':>9}")
    with tempfile.TemporaryDirectory(prefix="mle-bench-") as tmp:
        for scenario in scenarios:
            root = make_root(Path(tmp), scenario, eve)
            seconds, rss, _ = run(root, args.runtime, args.workers)
            print(f"{scenario:<14} {args.runtime:<8} {args.events:>10,} {seconds:>8.2f} "
                  f"{args.events / seconds:>10,.0f} {rss:>7.0f} MB", flush=True)
    mode = "one engine process" if args.workers == 0 else f"{args.workers} workers (peak RSS: supervisor only)"
    print(f"({os.cpu_count()} cores; {mode}; benchmarks/bench_runtime.py measures the multiprocess runtime)")


if __name__ == "__main__":
    main()
