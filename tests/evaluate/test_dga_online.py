"""evaluation/analyzers/dga-online.lua through the evaluation root, on synthetic domains:
it learns only from verdicts, reads both DNS layouts, records its features for the
batch baseline and reports drift. (The experiments on the real domain sets are
evaluation/learning.py; these domains are made up here, seeded.)"""

from __future__ import annotations

import random
from pathlib import Path

import orjson

from mle.evaluate import metrics
from mle.evaluate.labels import LabelSource, read_labeled
from mle.evaluate.report import Settings, evaluate
from mle.evaluate.runner import load_root_config, run_stream

ROOT = Path(__file__).resolve().parents[2] / "evaluation"
WORDS = ("mail", "news", "shop", "cloud", "photo", "music", "bank", "travel", "sport", "video", "game", "book",
         "home", "city", "green", "blue", "star", "net", "media", "data", "web", "world", "food", "health")


def stream(path: Path, n: int, seed: int = 3) -> Path:
    r = random.Random(seed)
    with path.open("wb") as f:
        for i in range(n):
            dga = r.random() < 0.5
            if dga:
                name = "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(r.randint(10, 20)))
            else:
                name = "".join(r.choice(WORDS) for _ in range(r.randint(1, 2)))
            domain = f"{name}.{r.choice(('com', 'net', 'org'))}"
            dns = ({"version": 3, "type": "request", "queries": [{"rrname": domain, "rrtype": "A"}]} if i % 5 == 0
                   else {"type": "query", "rrname": domain, "rrtype": "A"})
            record = {"event_type": "dns", "flow_id": 10 + i, "src_ip": "10.0.0.1", "dns": dns, "label": int(dga)}
            f.write(orjson.dumps(record) + b"\n")
    return path


def test_learns_from_verdicts_only(tmp_path: Path) -> None:
    data = stream(tmp_path / "s.json", 400)
    config = load_root_config(ROOT / "config.lua")
    learning = run_stream(config, read_labeled([str(data)], LabelSource("label")), record_features=False)
    scored = learning.by_tag["dga-online"]
    assert len(scored.labels) == 400  # both layouts read
    late = scored.after(200)
    assert metrics.roc_auc(late.labels, late.scores) > 0.95
    frozen = run_stream(config, read_labeled([str(data)], LabelSource("label")), learn_until=0,
                        record_features=False).by_tag["dga-online"]
    assert set(frozen.scores) == {0.5}  # no verdict, nothing learnt: the prior for every event


def test_batch_baseline_on_its_features(tmp_path: Path) -> None:
    data = stream(tmp_path / "s.json", 300)
    report = evaluate(load_root_config(ROOT), [str(data)], LabelSource("label"),
                      Settings(burn_in=50, window=100, frozen=False))
    entry = report.doc["analyzers"]["dga-online"]
    assert entry["batch"]["n_features"] > 50 and entry["test"]["batch"]["roc_auc"] > 0.95
    assert entry["test"]["online"]["roc_auc"] > 0.95
