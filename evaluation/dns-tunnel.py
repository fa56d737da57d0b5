"""Evaluate the dns-tunnel analyzer on the nDPI captures, through the real engine.

Data: the Suricata 7.0.4 EVE of nDPI's test captures
(``<data>/eve/ndpi-pcaps.suricata-7.0.4.json.gz``); its DNS records are replayed
through ``analyzers/dns-tunnel.lua`` alone with ``mle replay`` (shard_key src_ip, one
worker) and the annotated events read back.

Labels, by capture (``pcap_filename``): the DNS tunnel and exfiltration captures are
positive (``dns-tunnel-iodine.pcap``: iodine; ``bad-dns-traffic.pcap`` and
``dns_exfiltration.pcap``: dnscat2; ``dns-exf.pcap``: base64 exfiltration); every other
capture's DNS is negative (normal DNS of apps, plus fuzzed and malformed DNS). A
second view uses nDPI's own flow verdicts (``<data>/labels/ndpi-flow-risks.jsonl.gz``):
a DNS event is positive when its flow carries the "Susp DNS Traffic" risk.

Prints per-event precision and recall (a finding = predicted positive) with the
confusion counts, the ROC AUC of the score, per capture how many events were flagged,
and the false positives by capture::

    .venv/bin/python evaluation/dns-tunnel.py [--data /work/shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replaylib import confusion, replay_records, roc_auc

TAG = "dns-tunnel"
TUNNEL_CAPTURES = frozenset({"dns-tunnel-iodine.pcap", "bad-dns-traffic.pcap", "dns_exfiltration.pcap", "dns-exf.pcap"})


def capture(event: dict) -> str:
    """The capture file's name of an nDPI EVE record."""
    return str(event.get("pcap_filename") or "?").rsplit("/", 1)[-1]


def dns_events(path: Path) -> list[dict]:
    """The DNS records of an EVE file (unreadable lines skipped). Suricata writes
    ``pcap_filename: "unknown"`` on a capture's first packet: those records get the
    capture of another record of their flow (dropped when there is none)."""
    out, by_flow = [], {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if capture(event) not in ("unknown", "?") and "flow_id" in event:
                by_flow[event["flow_id"]] = event["pcap_filename"]
            if event.get("event_type") == "dns":
                out.append(event)
    for event in out:
        if capture(event) in ("unknown", "?") and event.get("flow_id") in by_flow:
            event["pcap_filename"] = by_flow[event["flow_id"]]
    return [e for e in out if capture(e) not in ("unknown", "?")]


def ndpi_suspicious(path: Path) -> set[tuple]:
    """(capture, proto, src, sport, dst, dport) of the flows nDPI calls "Susp DNS Traffic"."""
    keys = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if "Susp DNS Traffic" in row.get("risks", []):
                keys.add((row["pcap"], row["src_ip"], row["src_port"], row["dest_ip"], row["dest_port"]))
    return keys


def evaluate(events: list[dict], threshold: float | None = None) -> list[dict]:
    """Replay and return the annotated events (settings: the analyzer's defaults, or a threshold)."""
    settings = {TAG: {"threshold": threshold}} if threshold is not None else None
    return replay_records(events, [TAG], settings=settings)


def report(out: list[dict], suspicious: set[tuple] | None) -> None:
    """Print the figures."""
    scored = [e for e in out if TAG in e.get("mle", {}).get("scores", {})]
    truth = [capture(e) in TUNNEL_CAPTURES for e in scored]
    scores = [e["mle"]["scores"][TAG] for e in scored]
    flagged = [any(f["analyzer"] == TAG for f in e["mle"].get("findings", [])) for e in scored]
    c = confusion(truth, flagged)
    print(f"{len(out)} DNS events replayed, {len(scored)} scored by {TAG}")
    print(f"labels by capture: {sum(truth)} tunnel events, {len(truth) - sum(truth)} normal")
    print(f"  precision {c['precision']:.3f}  recall {c['recall']:.3f}  "
          f"(tp {c['tp']}, fp {c['fp']}, tn {c['tn']}, fn {c['fn']})  ROC AUC {roc_auc(truth, scores):.3f}")
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e, f in zip(scored, flagged, strict=True):
        per[capture(e)][0] += 1
        per[capture(e)][1] += f
    print("tunnel captures (events flagged / scored):")
    for name in sorted(TUNNEL_CAPTURES):
        n, k = per.get(name, [0, 0])
        print(f"  {name:28s} {k:4d} / {n}")
    fps = Counter(capture(e) for e, f, t in zip(scored, flagged, truth, strict=True) if f and not t)
    print(f"false positives on normal DNS: {sum(fps.values())} events in {len(fps)} captures"
          + (": " + ", ".join(f"{k} {v}" for k, v in fps.most_common()) if fps else ""))
    if suspicious is not None:
        truth2 = [(capture(e), e.get("src_ip"), e.get("src_port"), e.get("dest_ip"), e.get("dest_port")) in suspicious
                  for e in scored]
        c2 = confusion(truth2, flagged)
        print(f"labels by nDPI's flow risk \"Susp DNS Traffic\": {sum(truth2)} positive events")
        print(f"  precision {c2['precision']:.3f}  recall {c2['recall']:.3f}  "
              f"(tp {c2['tp']}, fp {c2['fp']}, tn {c2['tn']}, fn {c2['fn']})")


def main() -> None:
    """Replay the nDPI DNS records and print precision and recall."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--threshold", type=float, help="finding threshold (default: the analyzer's)")
    args = parser.parse_args()
    events = dns_events(args.data / "eve" / "ndpi-pcaps.suricata-7.0.4.json.gz")
    labels = args.data / "labels" / "ndpi-flow-risks.jsonl.gz"
    out = evaluate(events, args.threshold)
    report(out, ndpi_suspicious(labels) if labels.exists() else None)


if __name__ == "__main__":
    main()
