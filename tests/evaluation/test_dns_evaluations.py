"""The machinery of evaluation/dga.py and evaluation/dns-tunnel.py on small shipped
slices (the golden cases' inputs): records replayed through the real engine, scores
read back, precision and recall counted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "evaluation"))

import replaylib  # noqa: E402


def load(name: str) -> ModuleType:
    """An evaluation script as a module (their file names have hyphens)."""
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), REPO / "evaluation" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def records(case: str) -> list[dict]:
    return [json.loads(line) for line in (REPO / "analyzers" / "tests" / case / "input.json").open()]


def test_dns_tunnel_evaluation_counts_findings_by_capture(capsys):
    dt = load("dns-tunnel")
    events = records("dns-tunnel/dnscat2-suricata7") + records("dns-tunnel/normal-dns")
    settings = {"dns-tunnel": {"unique_low": 3, "unique_high": 20}}
    out = replaylib.replay_records(events, ["dns-tunnel"], settings=settings)
    assert len(out) == len(events)
    dt.report(out, None)
    text = capsys.readouterr().out
    assert "80 tunnel events, 42 normal" in text
    assert "precision 1.000" in text
    assert "false positives on normal DNS: 0 events" in text


def test_dga_evaluation_scores_names_through_the_engine():
    dga = load("dga")
    bad = ["xjwqkzpl.biz", "1sbh3891b5qfxt3dszss1grf20g.biz", "kwwouflbjf.org"]
    good = ["www.wikipedia.org", "mail.example.co.uk", "api-global.netflix.com"]
    scores = dga.scores(bad + good)
    assert all(s > 0.9 for s in scores[:3]) and all(s < 0.5 for s in scores[3:])
    assert replaylib.roc_auc([True] * 3 + [False] * 3, scores) == 1.0
    c = replaylib.confusion([True] * 3 + [False] * 3, [s >= dga.THRESHOLD for s in scores])
    assert (c["tp"], c["fp"], c["precision"], c["recall"]) == (3, 0, 1.0, 1.0)
