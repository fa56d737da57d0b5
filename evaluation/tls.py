"""Evaluate analyzers/tls.lua against nDPI's own verdicts on the nDPI test captures.

    .venv/bin/python evaluation/tls.py [--data /work/shared/data] [--threshold 0.5]

Runs the real engine (``mle replay``, one process, events sharded by src_ip) with only
the tls analyzer over ``eve/ndpi-pcaps.suricata-7.0.4.json.gz`` (every record, as a
sensor would see them), then joins each TLS record to ``labels/ndpi-flow-risks.jsonl.gz``
on the capture's basename plus the 5-tuple (either direction). Exact duplicate records
the engine wrote are counted once. Prints, for the finding (score >= threshold) against
"nDPI reports a certificate risk" and for each signal against its nDPI risk, precision,
recall and the confusion counts. The nDPI EVE has no JA3/JA4 (Suricata 7 defaults), so
the fingerprint signals are not measured here.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
from pathlib import Path

from replaylib import DEFAULT_DATA, Confusion, findings_of, replay, score_of

CERT_RISKS = {"Self-signed Cert", "TLS Cert Expired", "TLS Cert Mismatch"}
CHECKED_RISKS = CERT_RISKS | {"Obsolete TLS (v1.1 or older)"}
# a phrase of the analyzer's reason -> the nDPI risk it corresponds to
SIGNALS = [
    ("self-signed", "self-signed certificate", {"Self-signed Cert"}),
    ("expired / not yet valid", (" expired ", " not valid before "), {"TLS Cert Expired"}),
    ("sni not covered by CN", " not covered by certificate", {"TLS Cert Mismatch"}),
    ("obsolete version", "obsolete ", {"Obsolete TLS (v1.1 or older)"}),
]


def load_labels(path: Path) -> dict[tuple, set[str]]:
    """nDPI's risks per (pcap, proto, 5-tuple), indexed in both directions."""
    labels: dict[tuple, set[str]] = {}
    with gzip.open(path, "rt") as f:
        for line in f:
            r = json.loads(line)
            risks = set(r.get("risks") or [])
            labels[(r["pcap"], r["proto"], r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"])] = risks
            labels.setdefault((r["pcap"], r["proto"], r["dest_ip"], r["dest_port"], r["src_ip"], r["src_port"]),
                              risks)
    return labels


def evaluate(eve: Path, labels: dict[tuple, set[str]], threshold: float) -> dict:
    """Replay, join and count; returns the confusion per row and run facts."""
    # a tiny threshold makes every signal that fires write its reason; the finding
    # at the real threshold is read from the score
    run = replay(eve, ["tls.lua"], settings={"tls": {"threshold": 1e-9}})
    seen: set[str] = set()
    overall, checked = Confusion(), Confusion()
    per_signal = {name: Confusion() for name, _, _ in SIGNALS}
    tls_events = unlabeled = 0
    for event in run.events:
        if event.get("event_type") != "tls":
            continue
        key = json.dumps({k: v for k, v in event.items() if k != "mle"}, sort_keys=True)
        if key in seen:
            continue  # an exact duplicate record of the engine's output
        seen.add(key)
        tls_events += 1
        risks = labels.get((os.path.basename(event.get("pcap_filename", "")), event.get("proto"),
                            event.get("src_ip"), event.get("src_port"), event.get("dest_ip"),
                            event.get("dest_port")))
        if risks is None:
            unlabeled += 1
            continue
        reasons = " ".join(findings_of(event, "tls"))
        score = score_of(event, "tls") or 0.0
        overall.add(score >= threshold, bool(risks & CERT_RISKS))
        checked.add(score >= threshold, bool(risks & CHECKED_RISKS))
        for name, phrase, wanted in SIGNALS:
            phrases = phrase if isinstance(phrase, tuple) else (phrase,)
            per_signal[name].add(any(p in reasons for p in phrases), bool(risks & wanted))
    return {"overall": overall, "checked": checked, "signals": per_signal, "tls_events": tls_events,
            "unlabeled": unlabeled, "seconds": run.seconds, "records": len(run.events)}


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--threshold", type=float, default=0.5, help="finding threshold given to the analyzer")
    args = parser.parse_args()
    labels = load_labels(args.data / "labels/ndpi-flow-risks.jsonl.gz")
    result = evaluate(args.data / "eve/ndpi-pcaps.suricata-7.0.4.json.gz", labels, args.threshold)
    print(f"tls analyzer over the nDPI captures: {result['records']:,} records replayed in "
          f"{result['seconds']:.1f} s; {result['tls_events']} distinct TLS records, "
          f"{result['unlabeled']} without an nDPI label (left out)")
    print(result["overall"].row(f"finding (score >= {args.threshold}) vs any cert risk"))
    print(result["checked"].row("  ... vs any cert risk or obsolete"))
    for name, confusion in result["signals"].items():
        print(confusion.row(f"  signal: {name}"))


if __name__ == "__main__":
    main()
