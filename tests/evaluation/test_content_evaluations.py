"""The machinery of evaluation/tls.py, ioc.py and rare.py on shipped slices: the real
engine runs, the join and the confusion counts come out as the records say."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVALUATION = REPO / "evaluation"


def load(name: str):
    """Import evaluation/<name>.py (its folder on sys.path, as when run as a script)."""
    if str(EVALUATION) not in sys.path:
        sys.path.insert(0, str(EVALUATION))
    spec = importlib.util.spec_from_file_location(f"evaluation_{name}", EVALUATION / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_confusion_counts() -> None:
    c = load("replaylib").Confusion()
    for predicted, actual in [(True, True), (True, False), (False, True), (False, False), (True, True)]:
        c.add(predicted, actual)
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 1)
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 3)


def test_tls_evaluation_joins_labels_to_the_engine_output() -> None:
    tls = load("tls")
    eve = REPO / "analyzers/tests/tls/ndpi-certificates/input.json"
    labels = {}
    for line in eve.read_text().splitlines():
        r = json.loads(line)
        if "pcap_filename" not in r:
            continue  # the sample's record: unlabelled
        pcap = Path(r["pcap_filename"]).name
        risks = {"selfsigned.pcap": {"Self-signed Cert", "TLS Cert Expired"},
                 "KakaoTalk_talk.pcap": {"Self-signed Cert"}}.get(pcap, set())
        labels[(pcap, r["proto"], r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"])] = risks
    result = tls.evaluate(eve, labels, 0.5)
    assert result["tls_events"] == 7 and result["unlabeled"] == 1
    overall = result["overall"]
    # findings: KakaoTalk, gnutella, selfsigned, tor; labelled positives: KakaoTalk, selfsigned
    assert (overall.tp, overall.fp, overall.fn, overall.tn) == (2, 2, 0, 2)
    selfsigned = result["signals"]["self-signed"]
    assert (selfsigned.tp, selfsigned.fp) == (2, 1)


def test_ioc_evaluation_on_the_bundled_sample() -> None:
    ioc = load("ioc")
    confusion, indicators, _ = ioc.evaluate(REPO / "data/eve/sample.eve.json.gz", ioc.sample_case)
    assert indicators > 0
    assert confusion.tp > 0 and confusion.fp == 0
