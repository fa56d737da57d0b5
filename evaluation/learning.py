"""Does streaming learning work? The experiments behind the README's "Results" section.

    .venv/bin/python evaluation/learning.py [--data /work/shared/data] [--out docs/results] [--seed 14]

Every experiment runs ``evaluation/analyzers/dga-online.lua`` (an online logistic
regression over hashed character n-grams and lexical features, learning only from
verdicts in ``feedback(fb)``) through the real engine with ``mle evaluate``'s
machinery (:mod:`mle.evaluate`): each DNS event is scored without its label, then its
label is delivered as a verdict. The streams are labeled Suricata DNS EVE records
built from the DGA domain sets of ``--data`` (``dga/``), seeded:

1. **online vs batch** (pjabes benign/DGA, 40,000 events, balanced, shuffled): the
   online model, the frozen copy (learning stops at the end of burn-in) and
   scikit-learn's ``LogisticRegression`` trained in batch on the first half with the
   same features (``mle.features``), all scored on the second half.
2. **families never trained on** (andrewaeva: 8 DGA families x 1,000): for each family,
   a stream of the 7 others plus benign domains, learnt online; then, learning off,
   that family's 1,000 domains and 1,000 benign domains never seen: ROC AUC per family.
3. **drift** (pjabes DGA, then a new family, matsnu, whose domains are English words
   glued together, joins at event 10,000: a quarter of the DGA queries of the next
   8,000 events; half the events are DGA before and after): online vs the copy frozen just before the
   drift vs batch trained on everything before it; ADWIN on the online model's errors.
4. **real traffic** (the DNS queries of the nDPI, Slips and nicoaller captures, taken as
   benign, with a tenth more injected: copies of real queries, same host and time,
   asking for andrewaeva DGA domains; labels in a CSV keyed by line), after 10,000
   pjabes events to learn from: the frozen copy is the model as the public lists
   left it, the online one goes on learning from the site's verdicts.

When the repository ships ``analyzers/dga.lua``, it is run on stream 1 as well, through
the repository's own root (``shipped_dga`` in the figures).

Writes ``--out``/learning.json (every figure), the PNG plots and prints the tables.
Labeled streams are written to a scratch folder (``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mle.evaluate import metrics  # noqa: E402
from mle.evaluate.labels import LabelSource, read_labeled  # noqa: E402
from mle.evaluate.report import Settings, evaluate, render  # noqa: E402
from mle.evaluate.runner import load_root_config, run_stream  # noqa: E402

ROOT = REPO / "evaluation"
TAG = "dga-online"
FAMILIES = ("conficker", "cryptolocker", "matsnu", "pushdo", "ramdo", "rovnix", "tinba", "zeus")


# -- data -----------------------------------------------------------------------------------
def read_domains(data: Path) -> dict[str, list[str]]:
    """Benign and DGA domains: pjabes (``benign``, ``dga``), andrewaeva (``alexa`` and one
    list per family). Deduplicated, lower case, in file order."""
    def column(path: Path) -> list[str]:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows = [line.strip().split(",")[0].lower() for line in f]
        return list(dict.fromkeys(r for r in rows[1:] if r and r != "domain"))

    out = {"benign": column(data / "dga" / "pjabes-benign.csv.gz"), "dga": column(data / "dga" / "pjabes-dga.csv.gz")}
    with open(data / "dga" / "dga-families-andrewaeva-9k.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["family"], []).append(row["domain"].strip().lower())
    for key in out:
        out[key] = list(dict.fromkeys(out[key]))
    return out


class EveWriter:
    """Labeled Suricata DNS query records, one per domain; a fifth in Suricata 8's layout."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.t = 1_714_550_400.0  # 2024-05-01T08:00:00Z

    def record(self, domain: str, malicious: bool, kind: str) -> dict[str, Any]:
        r = self.r
        self.t += r.expovariate(20)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.t)) + f".{int(self.t % 1 * 1e6):06d}+0000"
        if r.random() < 0.2:
            dns = {"version": 3, "type": "request", "id": r.randrange(65536), "tx_id": 0,
                   "queries": [{"rrname": domain, "rrtype": "A"}]}
        else:
            dns = {"type": "query", "id": r.randrange(65536), "rrname": domain, "rrtype": "A", "tx_id": 0}
        return {"timestamp": stamp, "flow_id": r.getrandbits(50), "event_type": "dns",
                "src_ip": f"10.1.{r.randrange(4)}.{r.randrange(2, 250)}", "src_port": r.randrange(1024, 65536),
                "dest_ip": "10.1.0.53", "dest_port": 53, "proto": "UDP", "dns": dns,
                "label": "dga" if malicious else "benign", "kind": kind}

    def write(self, path: Path, items: list[tuple[str, bool, str]]) -> Path:
        with path.open("wb") as f:
            for domain, malicious, kind in items:
                f.write(orjson.dumps(self.record(domain, malicious, kind)) + b"\n")
        return path


def take(pool: list[str], n: int) -> list[str]:
    """The first n of a (shuffled) pool, removed from it: no domain is used twice."""
    if len(pool) < n:
        raise SystemExit(f"not enough domains: wanted {n}, have {len(pool)}")
    out = pool[:n]
    del pool[:n]
    return out


# -- experiments ----------------------------------------------------------------------------
def online_vs_batch(domains: dict[str, list[str]], work: Path, out: Path, seed: int, n: int,
                    console: Console) -> dict[str, Any]:
    r = random.Random(seed)
    benign, dga = list(domains["benign"]), list(domains["dga"])
    r.shuffle(benign)
    r.shuffle(dga)
    items = [(d, False, "benign") for d in take(benign, n // 2)] + [(d, True, "pjabes-dga") for d in take(dga, n // 2)]
    r.shuffle(items)
    stream = EveWriter(seed).write(work / "online-vs-batch.json", items)
    settings = Settings(burn_in=1000, window=2000, train_fraction=0.5, tags=[TAG])
    report = evaluate(load_root_config(ROOT), [str(stream)], LabelSource("label"), settings)
    console.rule("1. online vs batch: pjabes benign/DGA")
    render(report, console)
    _plots(report, out, "dga")
    entry = report.doc["analyzers"][TAG]
    return {"events": report.doc["events"], "seconds": report.doc["seconds"],
            "us_per_event": report.doc["us_per_event"],
            "test": entry["test"], "overall": entry["overall"], "batch": entry["batch"]}


def unseen_families(domains: dict[str, list[str]], work: Path, seed: int, console: Console) -> dict[str, Any]:
    """Leave each family out of the stream; score it (and unseen benign domains) after."""
    console.rule("2. families never trained on (andrewaeva)")
    results: dict[str, Any] = {}
    config = load_root_config(ROOT)
    for i, family in enumerate(FAMILIES):
        r = random.Random(seed + 100 + i)
        benign, alexa = list(domains["benign"]), list(domains["alexa"])
        r.shuffle(benign)
        r.shuffle(alexa)
        seen = [(d, True, f) for f in FAMILIES if f != family for d in domains[f]]
        stream_benign = [(d, False, "alexa") for d in take(alexa, 600)]
        stream_benign += [(d, False, "benign") for d in take(benign, len(seen) - 600)]
        items = seen + stream_benign
        r.shuffle(items)
        tail = [(d, True, family) for d in domains[family]]
        tail += [(d, False, "alexa") for d in take(alexa, 400)] + [(d, False, "benign") for d in take(benign, 600)]
        r.shuffle(tail)
        stream = EveWriter(seed + i).write(work / f"unseen-{family}.json", items + tail)
        result = run_stream(config, read_labeled([str(stream)], LabelSource("label")), tags=[TAG],
                            learn_until=len(items), record_features=False)
        scored = result.by_tag[TAG].after(len(items))
        s = metrics.summarize(scored.labels, scored.scores)
        results[family] = {"stream": len(items), "scored": s.events, "roc_auc": s.roc_auc, "recall": s.recall,
                           "precision": s.precision, "f1": s.f1}
        console.print(f"  {family:<13} ROC AUC {s.roc_auc:.4f}  recall {s.recall:.3f}  precision {s.precision:.3f}"
                      f"  (trained online on {len(items):,} events without it)")
    return results


def concept_drift(domains: dict[str, list[str]], work: Path, out: Path, seed: int, console: Console) -> dict[str, Any]:
    """pjabes DGA for 10,000 events, then matsnu (dictionary words) joins the DGA mix."""
    r = random.Random(seed + 7)
    benign, dga = list(domains["benign"]), list(domains["dga"])
    r.shuffle(benign)
    r.shuffle(dga)
    before = [(d, False, "benign") for d in take(benign, 5000)] + [(d, True, "pjabes-dga") for d in take(dga, 5000)]
    r.shuffle(before)
    # the same share of DGA after the change (half), a quarter of it from the new family
    after = [(d, False, "benign") for d in take(benign, 4000)] + [(d, True, "pjabes-dga") for d in take(dga, 3000)]
    after += [(d, True, "matsnu") for d in domains["matsnu"][:1000]]
    r.shuffle(after)
    change = len(before)
    stream = EveWriter(seed + 7).write(work / "drift.json", before + after)
    settings = Settings(burn_in=1000, window=1000, train_fraction=change / (len(before) + len(after)), tags=[TAG],
                        freeze_at=change)
    report = evaluate(load_root_config(ROOT), [str(stream)], LabelSource("label"), settings)
    console.rule("3. drift: a new DGA family (matsnu) joins at event 10,000")
    render(report, console)
    _plots(report, out, "drift", {"new DGA family (matsnu) appears": change})
    entry = report.doc["analyzers"][TAG]
    # F1 over the last 1,000 events, every 100 events: the reference is the online model's F1
    # on the 2,000 events before the change; recovery is the first such window, wholly after
    # the change, within 0.01 of it
    sliding = {m: metrics.windows(sc.positions, sc.labels, sc.scores, 1000, step=100)
               for m, sc in report.scores[TAG].items()}
    pre_scores = report.scores[TAG]["online"].before(change).after(change - 2000)
    pre_f1 = metrics.summarize(pre_scores.labels, pre_scores.scores).f1
    dip = {m: min((w.summary.f1 for w in ws if w.start >= change), default=None) for m, ws in sliding.items()}
    recovered = {m: metrics.recovery(ws, change, pre_f1) for m, ws in sliding.items()}
    last = {m: ws[-1].summary.f1 for m, ws in sliding.items()}
    fired = [d["position"] for d in report.doc["drift"]]
    console.print(f"  pre-drift F1 (online, last 2,000 events): {pre_f1:.3f}; worst 1,000 events after the drift: "
                  + ", ".join(f"{m} {v:.3f}" for m, v in dip.items() if v is not None))
    console.print("  events after the drift until the F1 of the last 1,000 events is back within 0.01 of it: "
                  + ", ".join(f"{m} {v if v is not None else 'never'}" for m, v in recovered.items()))
    console.print(f"  ADWIN fired at events {fired}")
    return {"change": change, "events": report.doc["events"], "pre_drift_f1": pre_f1, "worst_f1_after": dip,
            "recovered_after_events": recovered, "last_1000_f1": last, "adwin_fired_at": fired,
            "test": entry["test"]}


def shipped_analyzer(work: Path, console: Console) -> dict[str, Any] | None:
    """The shipped analyzers/dga.lua (when there is one) on experiment 1's stream, through
    the repository's own root: the same command works on any analyzer that scores."""
    stream = work / "online-vs-batch.json"
    if not (REPO / "analyzers" / "dga.lua").is_file() or not stream.is_file():
        return None
    settings = Settings(burn_in=1000, window=2000, train_fraction=0.5, tags=["dga"])
    report = evaluate(load_root_config(REPO / "config.lua"), [str(stream)], LabelSource("label"), settings)
    console.rule("the shipped analyzers/dga.lua on stream 1 (its offline model may have seen these domains)")
    render(report, console)
    entry = report.doc["analyzers"].get("dga")
    return None if entry is None else {"test": entry["test"], "overall": entry["overall"]}


REAL_EVE = ("ndpi-pcaps.suricata-7.0.4.json.gz", "slips-test6-malicious.json.gz", "nicoaller-malware-traffic.json.gz")


def real_traffic(domains: dict[str, list[str]], data: Path, work: Path, out: Path, seed: int,
                 console: Console) -> dict[str, Any]:
    """10,000 pjabes events to learn from, then the real DNS queries of three captures
    with DGA queries injected (seeded): labels from a CSV file keyed by line."""
    r = random.Random(seed + 21)
    benign, dga = list(domains["benign"]), list(domains["dga"])
    r.shuffle(benign)
    r.shuffle(dga)
    warm = [(d, False, "benign") for d in take(benign, 5000)] + [(d, True, "pjabes-dga") for d in take(dga, 5000)]
    r.shuffle(warm)
    writer = EveWriter(seed + 21)
    records = [writer.record(d, y, k) for d, y, k in warm]
    real = []
    for name in REAL_EVE:
        with gzip.open(data / "eve" / name, "rb") as f:
            for line in f:
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                dns = record.get("dns") if isinstance(record, dict) else None
                if record.get("event_type") == "dns" and isinstance(dns, dict) \
                        and dns.get("type") in ("query", "request"):
                    real.append(record)
    # injection: after a tenth of the real queries (chosen by the seed), a copy from the same
    # host at the same time asking for a domain of an andrewaeva DGA family (never in the warm-up)
    family_domains = [d for f in FAMILIES for d in domains[f]]
    r.shuffle(family_domains)
    injected = 0
    for record in real:
        record.pop("label", None)
        record["label"], record["kind"] = "benign", "real"
        records.append(record)
        if r.random() < 0.1:
            copy = orjson.loads(orjson.dumps(record))
            copy["flow_id"] = r.getrandbits(50)
            domain = family_domains[injected]
            if "rrname" in copy["dns"]:
                copy["dns"]["rrname"] = domain
            else:
                copy["dns"]["queries"] = [{"rrname": domain, "rrtype": "A"}]
            copy["label"], copy["kind"] = "dga", "injected"
            records.append(copy)
            injected += 1
    stream, labels = work / "real.json", work / "real-labels.csv"
    with stream.open("wb") as f, labels.open("w", encoding="utf-8") as lf:
        lf.write("line,label\n")
        for number, record in enumerate(records, 1):
            lf.write(f"{number},{record.pop('label')}\n")
            record.pop("kind")
            f.write(orjson.dumps(record) + b"\n")
    start = len(warm)
    settings = Settings(burn_in=start, window=500, train_fraction=start / len(records), tags=[TAG])
    report = evaluate(load_root_config(ROOT), [str(stream)], LabelSource(str(labels)), settings)
    console.rule(f"4. real traffic: {len(real):,} real DNS queries, {injected:,} injected DGA queries (after "
                 f"{start:,} pjabes events)")
    render(report, console)
    _plots(report, out, "real")
    online = report.scores[TAG]["online"].after(start)
    flagged = sorted({_query(records[p]) for p, y, sc in zip(online.positions, online.labels, online.scores,
                                                             strict=True) if not y and sc >= 0.5})
    console.print(f"  real queries flagged (false positives at 0.5, online): {len(flagged)}: {', '.join(flagged[:12])}")
    entry = report.doc["analyzers"][TAG]
    return {"real_queries": len(real), "injected": injected, "warm_up": start, "test": entry["test"],
            "false_positive_domains": flagged}


def _query(record: dict[str, Any]) -> str:
    dns = record["dns"]
    name = dns.get("rrname") or dns["queries"][0]["rrname"]
    return ascii(name)[1:-1] if len(name) <= 48 else ascii(name[:45])[1:-1] + "..."


def _plots(report: Any, out: Path, prefix: str, marks: dict[str, int] | None = None) -> None:
    from mle.evaluate.plots import write_plots

    folder = Path(tempfile.mkdtemp(prefix="mle-plots-"))
    try:
        for path in write_plots(report, folder, marks):
            shutil.move(str(path), out / path.name.replace(TAG, prefix))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results", help="figures and plots")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--events", type=int, default=40_000, help="events of experiment 1")
    parser.add_argument("--only", choices=("batch", "unseen", "drift", "real"), action="append",
                        help="run only these experiments (repeatable)")
    parser.add_argument("--keep", type=Path, help="keep the labeled streams in this folder")
    args = parser.parse_args()
    console = Console(width=120, highlight=False)
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="mle-learning-"))
    work.mkdir(parents=True, exist_ok=True)
    domains = read_domains(args.data)
    chosen = set(args.only or ("batch", "unseen", "drift", "real"))
    figures_path = args.out / "learning.json"
    figures: dict[str, Any] = orjson.loads(figures_path.read_bytes()) if figures_path.exists() else {}
    figures["seed"] = args.seed
    try:
        if "batch" in chosen:
            figures["online_vs_batch"] = online_vs_batch(domains, work, args.out, args.seed, args.events, console)
            shipped = shipped_analyzer(work, console)
            if shipped is not None:
                figures["shipped_dga"] = shipped
        if "unseen" in chosen:
            figures["unseen_families"] = unseen_families(domains, work, args.seed, console)
        if "drift" in chosen:
            figures["drift"] = concept_drift(domains, work, args.out, args.seed, console)
        if "real" in chosen:
            figures["real_traffic"] = real_traffic(domains, args.data, work, args.out, args.seed, console)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    figures_path.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2) + b"\n")
    console.print(f"figures: {figures_path}")


if __name__ == "__main__":
    main()
