#!/usr/bin/env python3
"""Precision and recall of the beacon, scan and bruteforce analyzers, through the real engine.

    .venv/bin/python evaluation/flow_detectors.py [beacon|scan|bruteforce|all] [--data DIR] [--seed N]

1. ``evaluation/inject.py`` writes the real capture (slips-test6, 24 h of an
   internet-exposed host) with labeled beacons, scans and password guessing injected
   (seeded), and the real capture alone.
2. A throwaway MLE root holds the shipped analyzer files (``analyzers/<tag>.lua``,
   copied as they are), the shipped input script and a config with
   ``shard_key = "src_ip"``; ``mle replay`` runs each file through it (``--workers``,
   default 2, each with its private Redis) and writes every annotated event.
3. For each detector: event level (over the event types it reads: flow; flow and http
   for bruteforce), a positive is a record labeled with its tag, a detection an event
   carrying its finding; entity level, the entity is the source host (scan) or the
   (source, destination) pair (beacon, bruteforce), detected when any of its events
   carries a finding. False positives are split into real records, injected benign
   traffic and other injected attacks. Per injected scenario: events detected.
4. The real capture alone: every entity with a finding, its count and a reason
   (the false positives on real traffic, or the real threats in it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import inject  # noqa: E402

TAGS = ("beacon", "scan", "bruteforce")
EVENT_TYPES = {"beacon": {"flow"}, "scan": {"flow"}, "bruteforce": {"flow", "http"}}


def entity(tag: str, rec: dict[str, Any]) -> tuple[str, ...]:
    """What an analyst acts on: the scanning host, or the (source, destination) pair."""
    if tag == "scan":
        return (rec.get("src_ip", ""),)
    return (rec.get("src_ip", ""), rec.get("dest_ip", ""))


def make_root(base: Path, tags: Iterable[str], workers: int) -> Path:
    """A throwaway MLE root with the shipped analyzers of `tags` and the shipped input script."""
    root = base / "root"
    (root / "analyzers").mkdir(parents=True)
    (root / "inputs").mkdir()
    shutil.copy(REPO / "inputs" / "suricata-filter.lua", root / "inputs")
    for tag in tags:
        shutil.copy(REPO / "analyzers" / f"{tag}.lua", root / "analyzers")
    (root / "config.lua").write_text(
        'inputs = { { tag = "eve", uri = "file:///dev/null", script = "suricata-filter.lua" } }\n'
        'outputs = { { tag = "out", uri = "file://out.json" } }\n'
        f'mle = {{ shard_key = "src_ip", workers = {workers} }}\n'
    )
    return root


def replay(root: Path, eve: Path, out: Path) -> list[dict[str, Any]]:
    """Run `mle replay` over eve; return the annotated events the outputs received."""
    mle = Path(sys.executable).with_name("mle")
    cmd = [str(mle) if mle.exists() else "mle", "replay", str(eve), "-r", str(root), "--out", str(out),
           "--top", "0", "--no-progress", "--quiet-scripts"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"mle replay failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    with out.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def tags_of(rec: dict[str, Any]) -> set[str]:
    return {f.get("analyzer") for f in rec.get("mle", {}).get("findings", [])}


def reason_of(rec: dict[str, Any], tag: str) -> str:
    for f in rec.get("mle", {}).get("findings", []):
        if f.get("analyzer") == tag:
            return str(f.get("reason"))
    return ""


@dataclass
class Result:
    """Confusion counts of one detector."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    fp_by: Counter = field(default_factory=Counter)
    ent_tp: int = 0
    ent_fp: int = 0
    ent_fn: int = 0
    ent_fp_list: list = field(default_factory=list)
    ent_fn_list: list = field(default_factory=list)
    scenarios: dict = field(default_factory=dict)

    @staticmethod
    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    def precision(self) -> float:
        return self.ratio(self.tp, self.tp + self.fp)

    def recall(self) -> float:
        return self.ratio(self.tp, self.tp + self.fn)

    def ent_precision(self) -> float:
        return self.ratio(self.ent_tp, self.ent_tp + self.ent_fp)

    def ent_recall(self) -> float:
        return self.ratio(self.ent_tp, self.ent_tp + self.ent_fn)


def score(tag: str, events: list[dict[str, Any]]) -> Result:
    """Event- and entity-level confusion of `tag` over labeled events."""
    r = Result()
    truth: set[tuple[str, ...]] = set()
    found: dict[tuple[str, ...], str] = {}
    per_scn: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rec in events:
        if rec.get("event_type") not in EVENT_TYPES[tag]:
            continue
        pos = rec.get("label") == tag
        hit = tag in tags_of(rec)
        ent = entity(tag, rec)
        if pos:
            truth.add(ent)
            scn = rec.get("injected", "?")
            per_scn[scn][1] += 1
            per_scn[scn][0] += hit
        if hit:
            found.setdefault(ent, rec.get("injected", "real") + ": " + reason_of(rec, tag))
        if pos and hit:
            r.tp += 1
        elif pos:
            r.fn += 1
        elif hit:
            r.fp += 1
            inj = rec.get("injected")
            r.fp_by["real record" if inj is None else ("injected benign" if inj.startswith("benign")
                                                        else "other injected attack")] += 1
        else:
            r.tn += 1
    r.ent_tp = len(truth & found.keys())
    r.ent_fp_list = sorted((e, found[e]) for e in found.keys() - truth)
    r.ent_fn_list = sorted(truth - found.keys())
    r.ent_fp, r.ent_fn = len(r.ent_fp_list), len(r.ent_fn_list)
    r.scenarios = dict(sorted(per_scn.items()))
    return r


def real_findings(tag: str, events: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], int, str]]:
    """Entities with findings of `tag` on the real capture: (entity, events, last reason)."""
    count: Counter = Counter()
    last: dict[tuple[str, ...], str] = {}
    for rec in events:
        if tag in tags_of(rec):
            ent = entity(tag, rec)
            count[ent] += 1
            last[ent] = reason_of(rec, tag)
    return [(e, n, last[e]) for e, n in count.most_common()]


def report(tag: str, r: Result, real: list[dict[str, Any]], n_real: int) -> None:
    print(f"== {tag} ==")
    print(f"events ({'/'.join(sorted(EVENT_TYPES[tag]))}): precision {r.precision():.3f}  recall {r.recall():.3f}"
          f"  (TP {r.tp}, FP {r.fp}, FN {r.fn}, TN {r.tn})")
    if r.fp_by:
        print("  false positives: " + ", ".join(f"{k} {v}" for k, v in r.fp_by.most_common()))
    print(f"entities ({'source' if tag == 'scan' else 'source, destination'}): precision {r.ent_precision():.3f}"
          f"  recall {r.ent_recall():.3f}  (TP {r.ent_tp}, FP {r.ent_fp}, FN {r.ent_fn})")
    for e, why in r.ent_fp_list[:12]:
        print(f"  FP {' -> '.join(e)}: {why[:160]}")
    for e in r.ent_fn_list[:12]:
        print(f"  FN {' -> '.join(e)}")
    print("per injected scenario (events with a finding / labeled events):")
    print("  " + "  ".join(f"{k.split(':')[-1]} {hit}/{n}" for k, (hit, n) in r.scenarios.items()))
    found = real_findings(tag, real)
    flagged = sum(n for _, n, _ in found)
    print(f"real capture alone: {flagged} of {n_real} {'/'.join(sorted(EVENT_TYPES[tag]))} events with a finding"
          f" ({100 * flagged / max(1, n_real):.2f} %), {len(found)} entities")
    for e, n, why in found[:12]:
        print(f"  {' -> '.join(e)}: {n} events; {why[:200]}")
    print()


def main(argv: list[str] | None = None, default_tag: str = "all") -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tag", nargs="?", default=default_tag, choices=(*TAGS, "all"))
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="the shared data folder")
    ap.add_argument("--seed", type=int, default=11, help="seed of the injection (default 11)")
    ap.add_argument("--workers", type=int, default=2, help="mle replay workers (default 2)")
    ap.add_argument("--keep", type=Path, help="keep the files (injected EVE, annotated output) in this folder")
    args = ap.parse_args(argv)
    tags = TAGS if args.tag == "all" else (args.tag,)
    with tempfile.TemporaryDirectory(prefix="mle-eval-") as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        root = make_root(Path(tmp), tags, args.workers)
        files = {}
        for name, real_only in (("injected", False), ("real", True)):
            eve = base / f"{name}.json"
            with eve.open("w") as fh:
                for line in inject.build(args.data, args.seed, real_only):
                    fh.write(line + "\n")
            out = base / f"{name}.out.json"
            out.unlink(missing_ok=True)
            files[name] = replay(root, eve, out)
        print(f"seed {args.seed}: {len(files['injected']):,} events with injections, "
              f"{len(files['real']):,} real events; workers {args.workers}\n")
        for tag in tags:
            n_real = sum(1 for e in files["real"] if e.get("event_type") in EVENT_TYPES[tag])
            report(tag, score(tag, files["injected"]), files["real"], n_real)
    return 0


if __name__ == "__main__":
    sys.exit(main())
