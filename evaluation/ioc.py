"""Evaluate analyzers/ioc.lua: do indicators learnt from earlier alerts catch the later
traffic of the same threats?

    .venv/bin/python evaluation/ioc.py [--data /work/shared/data]

Two captures, each run through the real engine (``mle replay``, one process) with only
the ioc analyzer and an indicator list written for the run:

- the malware sample (``eve/nicoaller-malware-traffic.json.gz``): the known positives
  are the FormBook and Dridex alerts. The list holds the indicators of the alerts of
  the first half of the capture (in the order the records were written): Dridex C2 addresses and JA3, FormBook C2
  host names. Positive events of the second half: flow, tls, http and dns records of a
  flow a malware alert fired on, and DNS queries for a host name a FormBook alert names.
- the slips capture (``eve/slips-test6-malicious.json.gz``): the known positives are
  the reputation alerts (ET CINS, 3CORESec, COMPROMISED, DROP, TOR). The list holds
  the remote addresses of the reputation alerts of the first half; positive events of
  the second half: flow, dns and http records to or from an address a reputation alert
  names anywhere in the capture.

Alerts themselves are not evaluated (they are the ground truth). A finding is a
predicted positive. Recall is bounded by indicators that first appear in the second
half: that is the point of the measure.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from replaylib import DEFAULT_DATA, Confusion, findings_of, read_eve, replay

MALWARE = ("FormBook", "Dridex")
REPUTATION = ("ET CINS", "ET 3CORESec", "ET COMPROMISED", "ET DROP", "ET TOR")
EVALUATED = {"flow", "dns", "tls", "http"}


def key(record: dict) -> tuple:
    """What identifies a record in the engine's output (the order may differ)."""
    return record.get("flow_id"), record.get("event_type"), record.get("timestamp"), record.get("tx_id")


def dns_names(record: dict) -> list[str]:
    """The query names of a DNS record (v2 rrname, v3 queries[])."""
    dns = record.get("dns") or {}
    names = [dns["rrname"]] if dns.get("rrname") else []
    names += [q.get("rrname") for q in dns.get("queries") or [] if q.get("rrname")]
    return [n.lower() for n in names]


def sample_case(records: list[dict]) -> tuple[list[str], int, callable]:
    """Indicator lines from the first half's malware alerts, the split (a record index)
    and the labeller."""
    alerts = [(i, r) for i, r in enumerate(records) if r.get("event_type") == "alert"
              and any(m in r["alert"]["signature"] for m in MALWARE)]
    split = alerts[len(alerts) // 2][0]
    alerts = [r for _, r in alerts]
    flows = {r["flow_id"] for r in alerts}
    hosts = {(r.get("http") or {}).get("hostname", "").lower() for r in alerts} - {""}
    lines = set()
    for r in alerts[:len(alerts) // 2]:
        if "Dridex" in r["alert"]["signature"]:
            lines.add(r["dest_ip"])
            ja3 = ((r.get("tls") or {}).get("ja3") or {}).get("hash")
            if ja3:
                lines.add("ja3:" + ja3)
        elif (r.get("http") or {}).get("hostname"):
            lines.add(r["http"]["hostname"].lower())

    def positive(r: dict) -> bool:
        return r.get("flow_id") in flows or any(n in hosts for n in dns_names(r))

    return sorted(lines), split, positive


def slips_case(records: list[dict]) -> tuple[list[str], int, callable]:
    """Indicator lines from the first half's reputation alerts, the split and the labeller."""
    alerts = [(i, r) for i, r in enumerate(records) if r.get("event_type") == "alert"
              and r["alert"]["signature"].startswith(REPUTATION)]
    split = alerts[len(alerts) // 2][0]
    alerts = [r for _, r in alerts]

    def remote(r: dict) -> str:
        # the listed side: the address that is not the monitored network's
        return r["src_ip"] if not r["src_ip"].startswith("192.168.") else r["dest_ip"]

    bad = {remote(r) for r in alerts}
    lines = sorted({remote(r) for r in alerts[:len(alerts) // 2]})

    def positive(r: dict) -> bool:
        return r.get("src_ip") in bad or r.get("dest_ip") in bad

    return lines, split, positive


def evaluate(eve: Path, case) -> tuple[Confusion, int, float]:
    """Replay ``eve`` with the list the case builds; confusion over the second half."""
    records = [r for r in read_eve(eve) if r.get("event_type")]
    lines, split, positive = case(records)
    index = {}
    for i, r in enumerate(records):
        index.setdefault(key(r), i)
    with tempfile.TemporaryDirectory() as tmp:
        listfile = Path(tmp) / "eval.txt"
        listfile.write_text("# written by evaluation/ioc.py\n" + "\n".join(lines) + "\n")
        # the list goes into the scratch root's analyzers/data/ioc/ as eval.txt
        run = replay(eve, ["ioc.lua"], settings={"ioc": {"files": ["eval.txt"]}},
                     extra_files={"analyzers/data/ioc/eval.txt": listfile})
    confusion = Confusion()
    for event in run.events:
        if event.get("event_type") not in EVALUATED or index.get(key(event), -1) <= split:
            continue
        confusion.add(bool(findings_of(event, "ioc")), positive(event))
    return confusion, len(lines), run.seconds


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args()
    total = Confusion()
    for name, path, case in [
        ("malware sample (FormBook, Dridex)", args.data / "eve/nicoaller-malware-traffic.json.gz", sample_case),
        ("slips capture (reputation alerts)", args.data / "eve/slips-test6-malicious.json.gz", slips_case),
    ]:
        confusion, indicators, seconds = evaluate(path, case)
        print(f"{name}: {indicators} indicators from the first half, replayed in {seconds:.1f} s")
        print(confusion.row("  second half"))
        for field in ("tp", "fp", "fn", "tn"):
            setattr(total, field, getattr(total, field) + getattr(confusion, field))
    print(total.row("both captures"))


if __name__ == "__main__":
    main()
