"""Evaluate the dga analyzer on held-out domains, through the real engine.

Every test domain becomes a Suricata 7 DNS query record (one source address per
domain, so the per-host NXDOMAIN ratio plays no part: this measures the name model);
the records are replayed through ``analyzers/dga.lua`` alone with ``mle replay``
(evaluation/replaylib.py) and the scores read back from ``mle.scores.dga``.

1. Held out: the shipped model (analyzers/data/dga-model.json) on the labels
   evaluation/train_dga.py held out (pjabes: 1 in 5; andrewaeva: 1 in 2 of every
   family and of the Alexa names), deduplicated by registrable label.
2. Leave one family out (andrewaeva): for each of the 8 families, a model trained
   without that family (train_dga.py --exclude-family, written to a scratch file the
   analyzer's ``model`` setting points to) scores all of the family's names and the
   held-out legitimate names (pjabes benign and Alexa). The pjabes DGA list, which
   is in every model's training, names no families: it may hold relatives.

Prints precision and recall at the analyzer's finding threshold (and at 0.5), the
confusion counts and the ROC AUC::

    .venv/bin/python evaluation/dga.py [--data /work/shared/data] [--skip-lofo]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_dga
from replaylib import REPO, confusion, replay_records, roc_auc

TAG = "dga"
THRESHOLD = 0.9  # the analyzer's default finding threshold


def query_records(names: list[str]) -> list[dict]:
    """One DNS query record (EVE dns v2, Suricata 7) per name, each from its own host."""
    out = []
    for i, name in enumerate(names):
        out.append({
            "timestamp": f"2025-01-29T12:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000+0000",
            "flow_id": 1_000_000 + i, "event_type": "dns",
            "src_ip": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "src_port": 40000 + i % 20000,
            "dest_ip": "10.255.255.1", "dest_port": 53, "proto": "UDP",
            "dns": {"type": "query", "id": i % 65536, "rrname": name, "rrtype": "A", "tx_id": 0},
        })
    return out


def scores(names: list[str], model: Path | None = None) -> list[float]:
    """mle.scores.dga of each name, in order (replayed through the engine)."""
    files, settings = None, None
    if model is not None:
        files = {"analyzers/data/eval-model.json": model}
        settings = {TAG: {"model": "analyzers/data/eval-model.json"}}
    out = replay_records(query_records(names), [TAG], settings=settings, extra_files=files)
    by_flow = {e["flow_id"]: e["mle"]["scores"][TAG] for e in out}
    return [by_flow[1_000_000 + i] for i in range(len(names))]


def line(title: str, truth: list[bool], score: list[float]) -> str:
    """Precision/recall at the threshold and 0.5, counts, AUC."""
    c = confusion(truth, [s >= THRESHOLD for s in score])
    h = confusion(truth, [s >= 0.5 for s in score])
    return (f"{title:14s} precision {c['precision']:.3f} recall {c['recall']:.3f} "
            f"(tp {c['tp']}, fp {c['fp']}, tn {c['tn']}, fn {c['fn']})  "
            f"at 0.5: precision {h['precision']:.3f} recall {h['recall']:.3f}  ROC AUC {roc_auc(truth, score):.4f}")


def main() -> None:
    """Score the held-out domains and the left-out families through the engine."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--skip-lofo", action="store_true", help="only the held-out evaluation of the shipped model")
    args = parser.parse_args()
    ds = train_dga.load(args.data)
    legit = [lab for lab, y in ds.test if y == 0] + ds.families["alexa"][1]
    pj_bad = [lab for lab, y in ds.test if y == 1]
    families = {f: v for f, v in ds.families.items() if f != "alexa"}
    fam_test = [lab for f, (_tr, te) in sorted(families.items()) for lab in te]

    # 1. the shipped model on everything held out
    labels = legit + pj_bad + fam_test
    score = scores([ds.names[lab] for lab in labels])
    truth = [False] * len(legit) + [True] * (len(pj_bad) + len(fam_test))
    print(f"model {REPO / 'analyzers/data/dga-model.json'}; finding threshold {THRESHOLD}")
    print(f"held out: {len(legit)} legitimate, {len(pj_bad)} pjabes DGA, {len(fam_test)} andrewaeva DGA names")
    print(line("all held out", truth, score))
    n0 = len(legit)
    print(line("pjabes only", [False] * n0 + [True] * len(pj_bad), score[:n0 + len(pj_bad)]))
    at = n0 + len(pj_bad)
    for family, (_tr, te) in sorted(families.items()):
        part = score[at:at + len(te)]
        at += len(te)
        print(line(f"  {family}", [False] * n0 + [True] * len(te), score[:n0] + part))
    if args.skip_lofo:
        return

    # 2. leave one family out
    print("leave one family out (the family never in training; negatives: the held-out legitimate names)")
    totals_truth: list[bool] = []
    totals_score: list[float] = []
    legit_scores: list[float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for family, (tr, te) in sorted(families.items()):
            rows, ys = train_dga.training_rows(ds, exclude_family=family)
            model = train_dga.fit(rows, ys)
            path = Path(tmp) / f"dga-without-{family}.json"
            train_dga.export(model, path, train_dga.BUCKETS)
            names = legit + sorted(set(tr) | set(te))
            s = scores([ds.names[lab] for lab in names], path)
            t = [False] * len(legit) + [True] * (len(names) - len(legit))
            print(line(f"  {family}", t, s), flush=True)
            totals_truth += t[len(legit):]
            totals_score += s[len(legit):]
            if legit_scores is None:
                legit_scores = s[:len(legit)]
    n = len(totals_truth)
    found = sum(1 for s in totals_score if s >= THRESHOLD)
    print(f"  all 8 families: recall {found / n:.3f} at {THRESHOLD} ({found} of {n}); "
          f"false positives of the first model: {sum(1 for s in legit_scores or [] if s >= THRESHOLD)} "
          f"of {len(legit)}")


if __name__ == "__main__":
    main()
