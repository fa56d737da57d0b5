"""The evaluation scripts' machinery on tiny shipped inputs: flow_outlier.py and triage.py
run the real engine (mle replay), join labels and compute their metrics."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(REPO / "evaluation"))  # the scripts import their shared replaylib


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "evaluation" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_roc_auc_and_confusion():
    fo = load("flow_outlier")
    flows = [fo.Flow(0.9, True, True), fo.Flow(0.5, False, True),
             fo.Flow(0.5, False, False), fo.Flow(0.1, False, False)]
    assert fo.roc_auc(flows) == pytest.approx((1 + 1 + 0.5 + 1) / 4)  # the tie counts half
    c = fo.confusion(flows, [f.finding for f in flows])
    assert (c["tp"], c["fp"], c["fn"], c["tn"], c["precision"], c["recall"]) == (1, 0, 1, 2, 1.0, 0.5)


def test_flow_outlier_through_the_engine_finds_the_injected_upload(tmp_path):
    fo = load("flow_outlier")
    case = REPO / "analyzers" / "tests" / "flow-outlier" / "upload-burst" / "input.json"
    events = fo.replay(case)
    flows = fo.slips_flows(events)
    assert len(flows) == 14
    injected = [e for e in events if e["flow_id"] == 9000000000000001]
    assert fo.annotation(injected[0])[1] is True  # a finding
    # a label file joined on capture name + 5-tuple, either direction
    first = json.loads(case.read_text().splitlines()[0])
    labels = {("", "UDP", first["dest_ip"], first["dest_port"], first["src_ip"], first["src_port"]): frozenset({"x"})}
    joined, unmatched = fo.join_ndpi(events, labels)
    assert len(joined) == 1 and joined[0].risks == {"x"} and unmatched == 13


def test_triage_ranks_the_alerts_by_class():
    tr = load("triage")
    case = REPO / "analyzers" / "tests" / "triage" / "alerts-by-class" / "input.json"
    events = tr.replay(case)
    ranks = dict(zip((tr.kind(e) or e["event_type"] for e in events), tr.ranks(events), strict=True))
    assert ranks["FormBook C2 alert"] == 1 and ranks["Dridex JA3 alert"] == 2 and ranks["dns"] == 4
