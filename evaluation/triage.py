#!/usr/bin/env python3
"""Where do the malware events rank? The triage analyzer on the bundled sample.

    .venv/bin/python evaluation/triage.py [--eve data/eve/sample.eve.json.gz] [--workers 0] [--top 10]

Replays the EVE file through the repository's own pipeline (``inputs/suricata-filter.lua``
routing, every analyzer in ``analyzers/``, ``shard_key = "src_ip"``) with ``mle replay``,
twice: with the triage analyzer, and without it (the engine's own rule: priority = the
highest finding score). Ranks every event by ``mle.priority`` (no priority = 0) and
prints, for each kind of alert in the sample (FormBook C2, the Dridex JA3 fingerprint,
the rest), its best, median and worst rank; ranks are competition ranks (1 + the events
of strictly higher priority), with the number of events sharing the best one. Then the
top events and how many events that are not alerts reach priority 0.5 or more.

The sample (nicoaller malware capture, MIT) holds FormBook C2 check-ins and Dridex TLS
alerts among Windows domain traffic: the malware events should rank at the top.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import replaylib

REPO = replaylib.REPO


def replay(eve: Path, workers: int = 0, triage: bool = True) -> list[dict]:
    """The annotated events of ``mle replay`` through a copy of this repository's pipeline
    (without analyzers/triage.lua when ``triage`` is false)."""
    scripts = sorted(p.name for p in (REPO / "analyzers").glob("*.lua") if triage or p.name != "triage.lua")
    return replaylib.replay(eve.resolve(), scripts, data_dirs=["data"], workers=workers).events


def priority(event: dict) -> float:
    value = (event.get("mle") or {}).get("priority")
    return float(value) if isinstance(value, int | float) else 0.0


def kind(event: dict) -> str | None:
    """The alert kind the evaluation follows, or None for an event that is not an alert."""
    if event.get("event_type") != "alert":
        return None
    signature = (event.get("alert") or {}).get("signature", "")
    if "FormBook" in signature:
        return "FormBook C2 alert"
    if "Dridex" in signature:
        return "Dridex JA3 alert"
    return "other alert"


def ranks(events: list[dict]) -> list[int]:
    """Competition rank of every event by priority (1 = highest)."""
    values = sorted((priority(e) for e in events), reverse=True)
    first: dict[float, int] = {}
    for i, v in enumerate(values):
        first.setdefault(v, i + 1)
    return [first[priority(e)] for e in events]


def summary(name: str, events: list[dict], top: int) -> dict[str, dict]:
    """Print and return the ranks of each alert kind, and the top events."""
    rank = ranks(events)
    print(f"\n== {name}: {len(events):,} events")
    kinds: dict[str, list[int]] = {}
    for event, r in zip(events, rank, strict=True):
        k = kind(event)
        if k:
            kinds.setdefault(k, []).append(r)
    out = {}
    print(f"  {'events':<20} {'n':>4} {'best':>6} {'tied':>5} {'median':>7} {'worst':>6}")
    for k in ("FormBook C2 alert", "Dridex JA3 alert", "other alert"):
        rs = sorted(kinds.get(k, []))
        if not rs:
            continue
        tied = sum(1 for r in rank if r == rs[0])
        out[k] = {"n": len(rs), "best": rs[0], "tied": tied, "median": statistics.median(rs), "worst": rs[-1]}
        print(f"  {k:<20} {len(rs):>4} {rs[0]:>6} {tied:>5} {statistics.median(rs):>7.0f} {rs[-1]:>6}")
    loud = [e for e in events if kind(e) is None and priority(e) >= 0.5]
    full = [e for e in events if priority(e) >= 1.0 and kind(e) is None]
    print(f"  events that are not alerts with priority >= 0.5: {len(loud)} (priority 1.0: {len(full)})")
    order = sorted(range(len(events)), key=lambda i: (-priority(events[i]), i))
    for i in order[:top]:
        e = events[i]
        reasons = "; ".join(f"{f['analyzer']}: {f['reason']}" for f in (e.get("mle") or {}).get("findings", []))
        print(f"  {priority(e):.2f} {e.get('event_type'):<6} {e.get('src_ip')} -> {e.get('dest_ip')}  {reasons[:150]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eve", type=Path, default=REPO / "data" / "eve" / "sample.eve.json.gz")
    parser.add_argument("--workers", type=int, default=0, help="engine workers (0: one process)")
    parser.add_argument("--top", type=int, default=8, help="print the N events of highest priority")
    args = parser.parse_args()
    summary("without triage (priority = highest finding score)", replay(args.eve, args.workers, False), args.top)
    summary("with triage", replay(args.eve, args.workers, True), args.top)


if __name__ == "__main__":
    main()
