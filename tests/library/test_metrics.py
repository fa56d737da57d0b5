"""mle.metrics against River (Accuracy, Precision, Recall, F1, LogLoss, ROCAUC, whole
stream and windowed through utils.Rolling) and the exact rank statistic (scipy) for
the windowed ROC AUC, at every step to 1e-9; metrics.Progressive scores before it
learns and holds its burn-in."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from river import metrics as river_metrics
from river import stats as river_stats
from river import utils as river_utils

RTOL = 1e-9


def predictions(n: int = 4000, seed: int = 8) -> tuple[list[bool], list[float]]:
    """Labels (30 % positive) and probabilities that lean towards them."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    logit = np.where(y, 1.0, -1.0) + rng.normal(0, 1.5, n)
    return y.tolist(), (1 / (1 + np.exp(-logit))).tolist()


def metric_trace(lua, runtime: str, make: str, labels: bool) -> list:
    return lua(f"""
        local metrics = require "mle.metrics"
        local m = metrics.{make}
        local out = {{}}
        for i, y in ipairs(data.y) do
          local p = data.p[i]
          m:update(y, {"p >= 0.5" if labels else "p"})
          out[i] = m:get()
        end
        return out
    """, dict(zip(("y", "p"), predictions(), strict=True)), runtime=runtime)


@pytest.mark.parametrize(("make", "reference", "labels"), [
    ("Accuracy()", lambda: river_metrics.Accuracy(), True),
    ("Accuracy{window = 500}", lambda: river_utils.Rolling(river_metrics.Accuracy, window_size=500), True),
    ("Precision()", lambda: river_metrics.Precision(), True),
    ("Precision{window = 500}", lambda: river_utils.Rolling(river_metrics.Precision, window_size=500), True),
    ("Recall()", lambda: river_metrics.Recall(), True),
    ("Recall{window = 300}", lambda: river_utils.Rolling(river_metrics.Recall, window_size=300), True),
    ("F1()", lambda: river_metrics.F1(), True),
    ("F1{window = 1000}", lambda: river_utils.Rolling(river_metrics.F1, window_size=1000), True),
    ("LogLoss()", lambda: river_metrics.LogLoss(), False),
    ("LogLoss{window = 500}", lambda: river_utils.Rolling(river_metrics.LogLoss, window_size=500), False),
    ("ROCAUC()", lambda: river_metrics.ROCAUC(), False),
    ("ROCAUC{n_thresholds = 50}", lambda: river_metrics.ROCAUC(n_thresholds=50), False),
], ids=lambda v: v if isinstance(v, str) else "")
def test_metric_matches_river_at_every_step(lua, runtime, make, reference, labels):
    got = metric_trace(lua, runtime, make, labels)
    river = reference()
    expected = []
    for y, p in zip(*predictions(), strict=True):
        river.update(y, p >= 0.5 if labels else p)
        expected.append(river.get())
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-12)


def exact_auc(y: list[bool], p: list[float]) -> float:
    """The Mann-Whitney statistic from average ranks (ties count half)."""
    ranks = scipy.stats.rankdata(p)
    positives = sum(y)
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return 0.0
    return float((ranks[np.array(y)].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@pytest.mark.parametrize("window", [1, 50, 300])
def test_rolling_roc_auc_is_exact_over_its_window(lua, runtime, window):
    y, p = predictions(1500)
    p = [round(v, 2) for v in p]  # ties, counted half
    got = lua(f"""
        local metrics = require "mle.metrics"
        local m = metrics.RollingROCAUC{{window = {window}}}
        local out = {{}}
        for i, label in ipairs(data.y) do
          m:update(label, data.p[i])
          out[i] = m:get()
        end
        return out
    """, {"y": y, "p": p}, runtime=runtime)
    expected = [exact_auc(y[max(0, i + 1 - window): i + 1], p[max(0, i + 1 - window): i + 1]) for i in range(len(y))]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-12)


PROGRESSIVE = """
    local metrics = require "mle.metrics"
    local stats = require "mle.stats"
    -- a model that predicts the share of positives seen so far
    local share = stats.Mean()
    local model = {{}}
    function model:predict_proba_one(x) return share:get() end
    function model:learn_one(x, y) share:update((y and 1 or 0) * x.weight) end
    local eval = metrics.Progressive{{model = model, burn_in = {burn_in}, window = {window}}}
    local scores, ready = {{}}, {{}}
    for i, y in ipairs(data.y) do scores[i], ready[i] = eval:score_learn({{weight = 1}}, y) end
    local saved = eval.state
    local again = metrics.Progressive.from_state(saved, model)
    return {{scores = scores, ready = ready, report = eval:get(), same = again:get().n == eval:get().n}}
"""


def test_progressive_scores_before_learning_and_holds_its_burn_in(lua, runtime):
    y, _ = predictions(3000)
    got = lua(PROGRESSIVE.format(burn_in=1000, window=500), {"y": y}, runtime=runtime)
    share, before = river_stats.Mean(), []  # what was known before each event
    for label in y:
        before.append(share.get())
        share.update(float(label))
    assert got["scores"] == before
    assert got["ready"] == [i >= 1000 for i in range(len(y))]
    assert got["same"] is True
    report = got["report"]
    assert report["n"] == 3000 and report["ready"] is True
    overall = {"accuracy": river_metrics.Accuracy(), "precision": river_metrics.Precision(),
               "recall": river_metrics.Recall(), "f1": river_metrics.F1()}
    recent = {name: river_utils.Rolling(type(m), window_size=500) for name, m in overall.items()}
    probabilistic = {"log_loss": river_metrics.LogLoss(), "roc_auc": river_metrics.ROCAUC()}
    recent_log_loss = river_utils.Rolling(river_metrics.LogLoss, window_size=500)
    for label, score in zip(y, before, strict=True):
        for m in (*overall.values(), *recent.values()):
            m.update(label, score >= 0.5)
        for m in (*probabilistic.values(), recent_log_loss):
            m.update(label, score)
    for name, m in {**overall, **probabilistic}.items():
        assert report["overall"][name] == pytest.approx(m.get(), rel=RTOL, abs=1e-12), name
    for name, m in {**recent, "log_loss": recent_log_loss}.items():
        assert report["window"][name] == pytest.approx(m.get(), rel=RTOL, abs=1e-12), name
    assert report["window"]["roc_auc"] == pytest.approx(exact_auc(y[-500:], before[-500:]), rel=RTOL)


def test_progressive_wraps_an_anomaly_detector(lua, runtime):
    got = lua("""
        local metrics = require "mle.metrics"
        local seen = {}
        local detector = {}
        function detector:score_one(x) return seen[x.host] and 0 or 1 end
        function detector:learn_one(x, y)
          assert(y == nil, "an anomaly detector learns without the label")
          seen[x.host] = true
        end
        local eval = metrics.Progressive{model = detector, burn_in = 2}
        local out = {}
        for i, host in ipairs{"a", "b", "a", "c", "a"} do
          local score, ready = eval:score_learn({host = host}, host == "c")
          out[i] = {score, ready}
        end
        return {out = out, recall = eval:get().overall.recall}
    """, None, runtime=runtime)
    assert got["out"] == [[1, False], [1, False], [0, True], [1, True], [0, True]]
    assert got["recall"] == 1
