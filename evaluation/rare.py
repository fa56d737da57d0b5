"""Evaluate analyzers/rare.lua by documented injection into real host profiles.

    .venv/bin/python evaluation/rare.py [--data /work/shared/data]

No public capture labels "an alert this host never raised" or "activity at an hour
this host is never active": the analyzer's positives are defined by the host's own
history. So the evaluation builds that history from real traffic and injects the
positives:

1. Phase A: the capture as it is (the malware sample, then separately the slips
   capture): the hosts' profiles (hours of day, signatures raised) are learnt.
2. Phase B: the same capture again, shifted by two days (every host out of its
   burn-in of dates): the negatives. Real behaviour the host already showed must not
   be reported.
3. Injections into phase B, for every host with at least ``burn_in_events`` flow and
   alert records in phase A: (a) up to 3 copies of one of its own flows moved to an
   hour of day it had no record at; (b) up to 3 copies of another host's alerts whose
   signature this host never raised, at its busiest hour. These are the positives.

It runs the real engine (``mle replay``, one process, sharded by src_ip) with only the
rare analyzer and its default settings, and counts findings on phase B's flow and
alert records and the injections. Precision here says whether a host's known
behaviour stays quiet; recall whether the two kinds of novelty are caught.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from replaylib import DEFAULT_DATA, Confusion, findings_of, read_eve, replay

BURN_IN_EVENTS = 100   # the analyzer's default burn_in_events
SHIFT = timedelta(days=2)
TS = "%Y-%m-%dT%H:%M:%S.%f%z"


def shifted(record: dict, delta: timedelta, hour: int | None = None) -> dict:
    """A copy of ``record`` moved by ``delta`` (and to ``hour``), with a new flow_id."""
    out = copy.deepcopy(record)
    ts = datetime.strptime(record["timestamp"], TS) + delta
    if hour is not None:
        ts = ts.replace(hour=hour)
    text = ts.strftime(TS)
    out["timestamp"] = text[:-2] + text[-2:]  # strftime writes +0200 as Suricata does
    out["flow_id"] = int(record.get("flow_id", 0)) + 1
    return out


def build(records: list[dict]) -> tuple[list[dict], set[int]]:
    """Phase A + phase B + injections; the indices of the positives in the list."""
    watched = [r for r in records if r.get("event_type") in ("flow", "alert")]
    hours: dict[str, Counter] = defaultdict(Counter)
    sigs: dict[str, set] = defaultdict(set)
    flows: dict[str, dict] = {}
    alerts: list[dict] = []
    for r in watched:
        src = r["src_ip"]
        hours[src][int(r["timestamp"][11:13])] += 1
        if r["event_type"] == "alert":
            sigs[src].add(r["alert"]["signature_id"])
            alerts.append(r)
        else:
            flows.setdefault(src, r)
    phase_b = [shifted(r, SHIFT) for r in records]
    injected = []
    for src, counts in hours.items():
        if sum(counts.values()) < BURN_IN_EVENTS:
            continue
        busiest = counts.most_common(1)[0][0]
        base = flows.get(src)
        if base is not None:
            unused = [(busiest + k) % 24 for k in (6, 12, 18) if counts[(busiest + k) % 24] == 0]
            injected += [shifted(base, SHIFT, hour) for hour in unused]
        foreign, seen = [], set()
        for a in alerts:
            sid = a["alert"]["signature_id"]
            if a["src_ip"] != src and sid not in sigs[src] and sid not in seen:
                seen.add(sid)
                moved = shifted(a, SHIFT, busiest)
                moved["src_ip"] = src
                foreign.append(moved)
            if len(foreign) == 3:
                break
        injected += foreign
    events = records + phase_b + injected
    first = len(records) + len(phase_b)
    return events, set(range(first, len(events))), len(records)


def evaluate(eve: Path) -> tuple[Confusion, int]:
    """Replay phase A + B + injections; the confusion over phase B and the injections."""
    records = [r for r in read_eve(eve) if r.get("event_type")]
    events, positives, start_b = build(records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rare-eval.json"
        # each record carries its index, to find it in the output whatever the order
        with path.open("w") as f:
            for i, r in enumerate(events):
                f.write(json.dumps({**r, "eval_index": i}) + "\n")
        run = replay(path, ["rare.lua"])
    confusion = Confusion()
    for event in run.events:
        i = event.get("eval_index", -1)
        if i < start_b or event.get("event_type") not in ("flow", "alert"):
            continue
        confusion.add(bool(findings_of(event, "rare")), i in positives)
    return confusion, len(positives)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args()
    total = Confusion()
    for name, path in [("malware sample", args.data / "eve/nicoaller-malware-traffic.json.gz"),
                       ("slips capture", args.data / "eve/slips-test6-malicious.json.gz")]:
        confusion, injected = evaluate(path)
        print(f"{name}: {injected} injections")
        print(confusion.row("  phase B + injections"))
        for field in ("tp", "fp", "fn", "tn"):
            setattr(total, field, getattr(total, field) + getattr(confusion, field))
    print(total.row("both captures"))


if __name__ == "__main__":
    main()
