"""CPU cost per DNS event of the dga and dns-tunnel analyzers.

Replays DNS records with ``mle replay --workers 0`` (one process) through a root that
holds only the input script and the analyzer(s) measured, and through the same root
without analyzers; the difference of the process CPU times divided by the events is
the analyzers' cost per event (their Lua work plus the engine's routing to them).

Two inputs: the DNS events of the reference workload (benchmarks/workload.py: names
under a few domains, so the dga analyzer's label memo mostly hits), and DNS queries
for names that are all different (pjabes benign and DGA lists, when
/work/shared/data is there): every name scored from scratch, the worst case.

    .venv/bin/python benchmarks/bench_dns_analyzers.py [--events 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "evaluation"))

from engine import replay  # noqa: E402  (evaluation/engine.py builds the scratch roots)
from workload import workload  # noqa: E402


def workload_dns(n: int) -> list[dict]:
    """The first n DNS events of the reference workload."""
    out = []
    with workload(max(4 * n, 100_000)).open() as f:
        for line in f:
            if '"event_type":"dns"' in line:
                out.append(json.loads(line))
                if len(out) == n:
                    break
    return out


def unique_dns(n: int, data: Path) -> list[dict]:
    """n DNS queries for distinct names of the pjabes lists (benign and DGA alternating)."""
    import gzip

    names: list[str] = []
    with gzip.open(data / "dga" / "pjabes-benign.csv.gz", "rt") as benign, \
            gzip.open(data / "dga" / "pjabes-dga.csv.gz", "rt") as dga:
        while len(names) < n:
            for f in (benign, dga):
                line = f.readline()
                if line and not line.startswith("domain"):
                    names.append(line.split(",")[0].strip())
    return [{"timestamp": "2025-01-29T12:00:00.000000+0000", "flow_id": 10_000_000 + i, "event_type": "dns",
             "src_ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "src_port": 40000, "dest_ip": "10.0.0.1",
             "dest_port": 53, "proto": "UDP",
             "dns": {"type": "query", "id": i % 65536, "rrname": name, "rrtype": "A", "tx_id": 0}}
            for i, name in enumerate(names[:n])]


def cpu_of_replay(events: list[dict], analyzers: list[str]) -> float:
    """CPU seconds (user + system) of one `mle replay --workers 0` of the events."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    replay(events, analyzers, workers=0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Print µs of CPU per DNS event for each analyzer and both together."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    args = parser.parse_args()
    inputs = {"workload dns": workload_dns(args.events)}
    if (args.data / "dga").exists():
        inputs["unique names"] = unique_dns(args.events, args.data)
    for title, events in inputs.items():
        base = min(cpu_of_replay(events, []) for _ in range(args.repeat))
        for analyzers in (["dga"], ["dns-tunnel"], ["dga", "dns-tunnel"]):
            cost = min(cpu_of_replay(events, analyzers) for _ in range(args.repeat))
            print(f"{title:13s} {'+'.join(analyzers):15s} {(cost - base) / len(events) * 1e6:6.2f} us/event "
                  f"(replay {cost:.2f} s CPU, pass-through {base:.2f} s, {len(events)} events)", flush=True)


if __name__ == "__main__":
    main()
