"""The machinery of evaluation/flow_detectors.py and inject.py, on shipped slices only."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "evaluation"))

import flow_detectors  # noqa: E402
import inject  # noqa: E402


def test_injection_is_seeded_and_labeled() -> None:
    """The same seed gives the same records; every scenario is there with its label."""
    runs = []
    for _ in range(2):
        g = inject.Gen(11)
        inject.scenarios(g)
        runs.append(g.records)
    assert runs[0] == runs[1]
    other = inject.Gen(12)
    inject.scenarios(other)
    assert other.records != runs[0]
    kinds = {r["injected"].split(":")[0]: set() for r in runs[0]}
    for r in runs[0]:
        kinds[r["injected"].split(":")[0]].add(r.get("label"))
    assert kinds["beacon"] == {"beacon", None}  # flows labeled, tls/http context
    assert kinds["scan"] == {"scan"}
    assert kinds["bruteforce"] == {"bruteforce", None}  # attempts labeled, HTTP flows context
    assert kinds["benign"] == {None}
    starts = [inject.event_time(r) for r in runs[0]]
    assert min(starts) >= inject.DAY_START and max(starts) <= inject.DAY_END + 3600


def test_confusion_counts() -> None:
    def ev(src: str, dst: str, label: str | None, hit: bool, injected: str | None = None) -> dict:
        rec = {"event_type": "flow", "src_ip": src, "dest_ip": dst}
        if label:
            rec["label"] = label
        if injected:
            rec["injected"] = injected
        if hit:
            rec["mle"] = {"findings": [{"analyzer": "scan", "reason": "r"}]}
        return rec

    events = [
        ev("a", "x", "scan", True, "scan:S1"),
        ev("a", "y", "scan", False, "scan:S1"),
        ev("b", "x", None, True),  # a real record flagged
        ev("c", "x", None, True, "benign:N1"),
        ev("d", "x", None, False),
        ev("e", "x", "scan", False, "scan:S2"),
    ]
    r = flow_detectors.score("scan", events)
    assert (r.tp, r.fp, r.fn, r.tn) == (1, 2, 2, 1)
    assert r.fp_by == {"real record": 1, "injected benign": 1}
    assert (r.ent_tp, r.ent_fp, r.ent_fn) == (1, 2, 1)
    assert r.scenarios == {"scan:S1": [1, 2], "scan:S2": [0, 1]}


def test_through_the_engine(tmp_path: Path) -> None:
    """mle replay over a shipped golden input with labels: the scan findings are counted."""
    root = flow_detectors.make_root(tmp_path, ["scan"], workers=0)
    eve = REPO / "analyzers" / "tests" / "scan" / "injected-horizontal-icmp" / "input.json"
    events = flow_detectors.replay(root, eve, tmp_path / "out.json")
    r = flow_detectors.score("scan", events)
    # 14 TCP probes (findings from the 10th) and 8 echo requests (from the 5th)
    assert (r.tp, r.fn, r.fp) == (5 + 4, 9 + 4, 0)
    assert (r.ent_tp, r.ent_fn, r.ent_fp) == (2, 0, 0)
