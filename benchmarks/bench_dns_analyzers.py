"""CPU cost per DNS event of the dga and dns-tunnel analyzers.

Replays DNS records with ``mle replay --workers 0`` (one process) through a scratch
root holding the input script, a baseline analyzer that annotates every event first
(``mle.score``: the cost of creating an event's annotations is then not charged to the
analyzers measured; in the shipped pipeline the first analyzer to score an event pays it), and dga and
dns-tunnel. Two figures per analyzer, the lowest of ``--repeat`` runs:

- ``script``: the CPU time MLE measures inside the script (the replay summary's
  ``time`` column, one call in 16 sampled) per event;
- ``process``: the replay's process CPU with the analyzer minus without it, per event
  (everything the analyzer causes: routing, field reads, garbage collection). On a
  shared machine this one is noisy: compare runs made back to back.

Two inputs: the DNS events of the reference workload (benchmarks/workload.py: 75 % of
the names are new, under 15 domains) and queries for all-different names from the
pjabes lists (when /work/shared/data is there).

    .venv/bin/python benchmarks/bench_dns_analyzers.py [--events 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from workload import workload  # noqa: E402

BASELINE = 'analyzer = { event_types = { "dns" }, order = 1 }\nfunction loop(msg) mle.score(msg, 0) end\n'
ROW = re.compile(r"^\s*(\S+)\s*│\s*analyzer\s*│\s*([\d,]+)\s*│.*│\s*([\d.]+) s\s*│")


def workload_dns(n: int) -> list[str]:
    """The first n DNS lines of the reference workload."""
    out = []
    with workload(max(4 * n, 100_000)).open() as f:
        for line in f:
            if '"event_type":"dns"' in line:
                out.append(line.rstrip("\n"))
                if len(out) == n:
                    break
    return out


def unique_dns(n: int, data: Path) -> list[str]:
    """n DNS queries for distinct names of the pjabes lists (benign and DGA alternating)."""
    names: list[str] = []
    with gzip.open(data / "dga" / "pjabes-benign.csv.gz", "rt") as benign, \
            gzip.open(data / "dga" / "pjabes-dga.csv.gz", "rt") as dga:
        while len(names) < n:
            for f in (benign, dga):
                line = f.readline()
                if line and not line.startswith("domain"):
                    names.append(line.split(",")[0].strip())
    return [json.dumps({"timestamp": "2025-01-29T12:00:00.000000+0000", "flow_id": 10_000_000 + i,
                        "event_type": "dns", "src_ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                        "src_port": 40000, "dest_ip": "10.0.0.1", "dest_port": 53, "proto": "UDP",
                        "dns": {"type": "query", "id": i % 65536, "rrname": name, "rrtype": "A", "tx_id": 0}})
            for i, name in enumerate(names[:n])]


def run(root: Path, analyzers: list[str]) -> tuple[float, dict[str, float]]:
    """One replay: process CPU seconds and each script's measured seconds."""
    for old in (root / "analyzers").glob("*.lua"):
        if old.name != "baseline.lua":
            old.unlink()
    for tag in analyzers:
        shutil.copy(REPO / "analyzers" / f"{tag}.lua", root / "analyzers")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([str(Path(sys.executable).parent / "mle"), "replay", "-r", str(root), "-w", "0",
                           "--out", "/dev/null", "--quiet-scripts"], capture_output=True, text=True, check=True,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    times = {}
    for line in (done.stdout + done.stderr).splitlines():
        m = ROW.match(line)
        if m:
            times[m.group(1)] = float(m.group(3))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), times


def main() -> None:
    """Print µs of CPU per DNS event for each analyzer."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()
    inputs = {"workload dns": workload_dns(args.events)}
    if (args.data / "dga").exists():
        inputs["unique names"] = unique_dns(args.events, args.data)
    with tempfile.TemporaryDirectory(prefix="mle-bench-dns-") as tmp:
        root = Path(tmp)
        (root / "inputs").mkdir()
        (root / "analyzers").mkdir()
        shutil.copy(REPO / "inputs" / "suricata-filter.lua", root / "inputs")
        shutil.copytree(REPO / "analyzers" / "data", root / "analyzers" / "data")
        (root / "analyzers" / "baseline.lua").write_text(BASELINE)
        (root / "config.lua").write_text(
            'mle = { shard_key = "src_ip" }\n'
            'inputs = { { tag = "eve", uri = "file://input.json", script = "suricata-filter.lua" } }\n'
            'outputs = { { tag = "out", uri = "file://out.json" } }\n')
        for title, lines in inputs.items():
            (root / "input.json").write_text("\n".join(lines) + "\n")
            n = len(lines)
            base = min(run(root, [])[0] for _ in range(args.repeat))
            for analyzers in (["dga"], ["dns-tunnel"], ["dga", "dns-tunnel"]):
                runs = [run(root, analyzers) for _ in range(args.repeat)]
                process = min(r[0] for r in runs)
                script = {tag: min(r[1].get(tag, float("nan")) for r in runs) for tag in analyzers}
                inside = ", ".join(f"{tag} {t / n * 1e6:.1f}" for tag, t in script.items())
                print(f"{title:13s} {'+'.join(analyzers):15s} script: {inside} us/event; "
                      f"process: {(process - base) / n * 1e6:.1f} us/event over the baseline ({n} events)",
                      flush=True)


if __name__ == "__main__":
    main()
