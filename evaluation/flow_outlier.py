#!/usr/bin/env python3
"""Evaluate the flow-outlier analyzer through the real engine.

    .venv/bin/python evaluation/flow_outlier.py [--data /work/shared/data] [--workers 0]
                                                [--set name=value ...]

Runs ``mle replay`` (one process by default: reproducible per-worker state) of

1. the nDPI captures' EVE (``eve/ndpi-pcaps.suricata-7.0.4.json.gz``) through a root
   holding only ``inputs/suricata-filter.lua`` and ``analyzers/flow-outlier.lua``
   (``shard_key = "src_ip"``), then joins every annotated flow to nDPI's own verdict
   (``labels/ndpi-flow-risks.jsonl.gz``: capture file name + 5-tuple); a flow is
   positive when nDPI gave it any risk;
2. the Slips capture with volumetric outliers injected (copies of a host's real flows
   with the upload multiplied by 100-1000, or lasting hours): what the analyzer is
   for, measured where the truth is known;
3. the Slips capture (``eve/slips-test6-malicious.json.gz``), where the only labels
   are Suricata's own: a flow is positive when ``flow.alerted`` is true.

Prints, for each: the confusion counts, precision and recall of the findings and at
a few score thresholds, the ROC AUC of the score (ties counted half), and for nDPI
the share of each risk type's flows the analyzer finds. Most nDPI risks describe
content (a numeric SNI, a protocol on a non-standard port, an old TLS version), not
volume; the per-risk table says which ones a volumetric detector can see at all.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import replaylib

REPO = replaylib.REPO
TAG = "flow-outlier"
THRESHOLDS = (0.2, 0.35, 0.5, 0.65, 0.8)


@dataclass
class Flow:
    """One annotated flow of the replay: its score, whether it was a finding, its labels."""

    score: float
    finding: bool
    positive: bool
    risks: frozenset[str] = field(default_factory=frozenset)
    reason: str = ""


def replay(eve: Path, workers: int = 0, settings: dict[str, float] | None = None,
           analyzers: Iterable[str] = (TAG,)) -> list[dict]:
    """Run ``mle replay`` of ``eve`` through a root with the shipped input script and
    the named analyzers of this repository; return the annotated events."""
    return replaylib.replay(eve, [f"{name}.lua" for name in analyzers], settings={TAG: settings} if settings else None,
                            workers=workers).events


def annotation(event: dict) -> tuple[float, bool, str]:
    """The analyzer's score on an event, whether it reported a finding, and its reason."""
    mle = event.get("mle") or {}
    score = (mle.get("scores") or {}).get(TAG)
    findings = [f for f in mle.get("findings") or [] if f.get("analyzer") == TAG]
    return (float(score) if score is not None else 0.0), bool(findings), (findings[0]["reason"] if findings else "")


def five_tuple(record: dict) -> tuple:
    return (str(record.get("proto", "")).upper(), record.get("src_ip"), record.get("src_port"),
            record.get("dest_ip"), record.get("dest_port"))


def load_labels(path: Path) -> dict[tuple, frozenset[str]]:
    """nDPI's risks by (capture name, 5-tuple); the union where a key repeats."""
    labels: dict[tuple, set[str]] = defaultdict(set)
    with gzip.open(path, "rt") as f:
        for line in f:
            row = json.loads(line)
            key = (row["pcap"], *five_tuple(row))
            labels[key].update(row.get("risks") or [])
    return {k: frozenset(v) for k, v in labels.items()}


def join_ndpi(events: list[dict], labels: dict[tuple, frozenset[str]]) -> tuple[list[Flow], int]:
    """The annotated flows that have an nDPI verdict (one per capture and 5-tuple: the
    highest score where Suricata wrote a flow twice), and how many flows had none."""
    best: dict[tuple, Flow] = {}
    unmatched = 0
    for event in events:
        if event.get("event_type") != "flow":
            continue
        key = (os.path.basename(event.get("pcap_filename", "")), *five_tuple(event))
        risks = labels.get(key)
        if risks is None:  # nDPI may have seen the flow the other way round
            p, proto, si, sp, di, dp = key
            risks = labels.get((p, proto, di, dp, si, sp))
        if risks is None:
            unmatched += 1
            continue
        score, finding, reason = annotation(event)
        flow = Flow(score, finding, bool(risks), risks, reason)
        if key not in best or flow.score > best[key].score:
            best[key] = flow
    return list(best.values()), unmatched


def slips_flows(events: list[dict]) -> list[Flow]:
    """The Slips capture's flows, positive when Suricata alerted on the flow."""
    flows = []
    for event in events:
        if event.get("event_type") != "flow":
            continue
        score, finding, reason = annotation(event)
        flows.append(Flow(score, finding, bool((event.get("flow") or {}).get("alerted")), reason=reason))
    return flows


def inject(source: Path, target: Path, count: int, seed: int) -> set[int]:
    """Copy ``source`` (EVE, gzip) to ``target`` with ``count`` volumetric outliers added:
    copies of real flows of hosts that already sent 20 flows, sent right after the
    original, half with the upload multiplied by 100-1000 (exfiltration), half lasting
    1-4 hours with both directions multiplied by 20-50 (a long transfer). Returns the
    flow_ids of the injected flows."""
    rng = random.Random(seed)
    with gzip.open(source, "rt") as f:
        lines = f.readlines()
    seen: Counter[str] = Counter()
    eligible = []
    for i, line in enumerate(lines):
        event = json.loads(line)
        if event.get("event_type") == "flow" and (event.get("flow") or {}).get("pkts_toserver"):
            seen[event["src_ip"]] += 1
            if seen[event["src_ip"]] > 20:
                eligible.append(i)
    chosen = sorted(rng.sample(eligible, min(count, len(eligible))))
    injected: set[int] = set()
    out = []
    for i, line in enumerate(lines):
        out.append(line if line.endswith("\n") else line + "\n")
        if chosen and i == chosen[0]:
            chosen.pop(0)
            event = json.loads(line)
            flow = event["flow"]
            if len(injected) % 2 == 0:
                k = rng.uniform(100, 1000)
                flow["bytes_toserver"] = int(max(flow["bytes_toserver"], 1000) * k)
                flow["pkts_toserver"] = int(max(flow["pkts_toserver"], 1) * k)
            else:
                k = rng.uniform(20, 50)
                for name in ("bytes_toserver", "bytes_toclient", "pkts_toserver", "pkts_toclient"):
                    flow[name] = int(max(flow.get(name) or 0, 1) * k)
                flow["age"] = rng.randint(3600, 4 * 3600)
            event["flow_id"] = 9_000_000_000_000_000 + len(injected)
            injected.add(event["flow_id"])
            out.append(json.dumps(event) + "\n")
    target.write_text("".join(out))
    return injected


def roc_auc(flows: list[Flow]) -> float:
    """Mann-Whitney ROC AUC of the score (ties count half); nan with one class."""
    return replaylib.roc_auc([f.positive for f in flows], [f.score for f in flows])


def confusion(flows: list[Flow], predicted: list[bool]) -> dict[str, float]:
    """tp, fp, fn, tn, precision and recall of a prediction per flow."""
    return replaylib.confusion([f.positive for f in flows], predicted)


def report(name: str, flows: list[Flow]) -> dict:
    """Print and return the metrics of one data set."""
    positives = sum(f.positive for f in flows)
    print(f"\n== {name}: {len(flows):,} flows, {positives:,} positive ({positives / max(len(flows), 1):.0%})")
    rows = [("findings", confusion(flows, [f.finding for f in flows]))]
    rows += [(f"score >= {t:.2f}", confusion(flows, [f.score >= t for f in flows])) for t in THRESHOLDS]
    print(f"  {'predicted':<14} {'tp':>6} {'fp':>6} {'fn':>6} {'tn':>6} {'precision':>9} {'recall':>7}")
    for label, c in rows:
        print(f"  {label:<14} {c['tp']:>6} {c['fp']:>6} {c['fn']:>6} {c['tn']:>6} "
              f"{c['precision']:>9.3f} {c['recall']:>7.3f}")
    auc = roc_auc(flows)
    print(f"  ROC AUC of the score: {auc:.3f}")
    return {"flows": len(flows), "positive": positives, "roc_auc": auc, "rows": dict(rows)}


def per_risk(flows: list[Flow], threshold: float = 0.5) -> None:
    """For each nDPI risk: its flows, the share with a finding / a score past threshold,
    and the AUC of the score against the flows without any risk."""
    clean = [f for f in flows if not f.risks]
    by_risk: dict[str, list[Flow]] = defaultdict(list)
    for f in flows:
        for r in f.risks:
            by_risk[r].append(f)
    print(f"\n  per nDPI risk (AUC: that risk's flows against the {len(clean):,} flows without a risk)")
    print(f"  {'risk':<40} {'flows':>6} {'found':>6} {'score>=' + str(threshold):>10} {'AUC':>6}")
    for risk, members in sorted(by_risk.items(), key=lambda kv: -len(kv[1])):
        found = sum(f.finding for f in members)
        past = sum(f.score >= threshold for f in members)
        auc = roc_auc([Flow(f.score, f.finding, True) for f in members]
                      + [Flow(f.score, f.finding, False) for f in clean])
        print(f"  {risk:<40} {len(members):>6} {found:>6} {past:>10} {auc:>6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--workers", type=int, default=0, help="engine workers (0: one process, reproducible)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a setting of the analyzer (e.g. z_threshold=6)")
    parser.add_argument("--inject", type=int, default=60, help="volumetric outliers to inject into Slips' flows")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=5, help="print this many findings of each data set")
    args = parser.parse_args()
    settings = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}

    labels = load_labels(args.data / "labels" / "ndpi-flow-risks.jsonl.gz")
    events = replay(args.data / "eve" / "ndpi-pcaps.suricata-7.0.4.json.gz", args.workers, settings)
    flows, unmatched = join_ndpi(events, labels)
    print(f"nDPI captures: {len(flows):,} flows joined to nDPI's verdict ({unmatched:,} flow records without one)")
    report("nDPI flow risks (positive: any risk)", flows)
    per_risk(flows)
    for f in [f for f in flows if f.finding][: args.examples]:
        print(f"  {'+' if f.positive else '-'} {f.reason}  [{', '.join(sorted(f.risks)) or 'no risk'}]")

    with tempfile.TemporaryDirectory(prefix="mle-inject-") as tmp:
        target = Path(tmp) / "injected.json"
        injected = inject(args.data / "eve" / "slips-test6-malicious.json.gz", target, args.inject, args.seed)
        events = [e for e in replay(target, args.workers, settings) if e.get("event_type") == "flow"]
    marked = [Flow(*annotation(e)[:2], e.get("flow_id") in injected, reason=annotation(e)[2]) for e in events]
    report(f"Slips capture with {len(injected)} injected volumetric outliers (positive: injected)", marked)
    for f in [f for f in marked if f.finding][: args.examples]:
        print(f"  {'+' if f.positive else '-'} {f.reason}")

    slips = slips_flows(replay(args.data / "eve" / "slips-test6-malicious.json.gz", args.workers, settings))
    report("Slips capture (positive: Suricata alerted on the flow)", slips)
    for f in [f for f in slips if f.finding][: args.examples]:
        print(f"  {'+' if f.positive else '-'} {f.reason}")


if __name__ == "__main__":
    main()
