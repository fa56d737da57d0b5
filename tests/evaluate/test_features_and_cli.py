"""mle.features (recorded only when record_features is on) and the mle evaluate command."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from mle.evaluate.plots import PlotsUnavailable, check_available
from tests.conftest import run_mle

ANALYZER = """
analyzer = { event_types = {"dns"} }
function loop(msg)
  if mle.evaluating then mle.features(msg, { hint = msg.hint, kind = "q", flag = true }) end
  mle.score(msg, msg.hint)
end
"""
PLAIN = """
analyzer = { event_types = {"dns"} }
function loop(msg)
  mle.features(msg, { x = 1 })  -- does nothing unless features are recorded
  mle.score(msg, 0.5)
end
"""
CONFIG = """
inputs = { { tag = "eve", uri = "file://data.json", script = "filter.lua" } }
outputs = { { tag = "out", uri = "file://out.json" } }
{mle}
"""
FILTER = "function loop(msg) if msg then mle.route(msg) end end\n"


def _root(make_root: Callable[..., Path], mle: str = "") -> Path:
    return make_root(CONFIG.replace("{mle}", mle), inputs={"filter.lua": FILTER},
                     analyzers={"hinted.lua": textwrap.dedent(ANALYZER), "plain.lua": textwrap.dedent(PLAIN)})


@pytest.mark.parametrize("record", [False, True])
def test_features_are_recorded_only_when_asked(make_root: Callable[..., Path], harness: Callable, record: bool) -> None:
    root = _root(make_root, "mle = { record_features = true }" if record else "")
    h = harness(root)
    h.push([b'{"event_type":"dns","hint":1}'], "eve")
    (event,) = h.events("out")
    if record:
        assert event["mle"]["features"] == {"hinted": {"hint": 1, "kind": "q", "flag": True}, "plain": {"x": 1}}
    else:
        assert "features" not in event["mle"] and event["mle"]["scores"] == {"hinted": 1.0, "plain": 0.5}


def test_mle_evaluate_command(make_root: Callable[..., Path], tmp_path: Path) -> None:
    root = _root(make_root)
    data = tmp_path / "data.json"
    data.write_bytes(b"".join(orjson.dumps({"event_type": "dns", "hint": i % 2, "label": i % 2 == 1}) + b"\n"
                              for i in range(200)))
    out, plots = tmp_path / "figures.json", tmp_path / "plots"
    done = run_mle("evaluate", str(root / "config.lua"), str(data), "--labels", "label", "--burn-in", "20",
                   "--window", "50", "--json", str(out), "--plots", str(plots), "--mark", "100:half way")
    assert done.returncode == 0, done.stderr.decode()
    text = done.stdout.decode()
    assert "analyzer hinted" in text and "analyzer plain" in text and "after split" in text and "batch" in text
    doc = orjson.loads(out.read_bytes())
    assert doc["events"] == 200 and doc["burn_in"] == 20 and doc["split"] == 100
    hinted = doc["analyzers"]["hinted"]
    assert hinted["overall"]["online"]["roc_auc"] == 1.0 and hinted["test"]["batch"]["roc_auc"] == 1.0
    assert doc["analyzers"]["plain"]["test"]["batch"]["roc_auc"] == 0.5
    assert sorted(p.name for p in plots.iterdir() if p.name.startswith("hinted")) == \
        ["hinted-over-time.png", "hinted-roc.png", "hinted-scores.png"]


def test_missing_matplotlib_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PlotsUnavailable, match=r"pip install 'mle\[plots\]'"):
        check_available()
