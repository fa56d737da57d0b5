"""The evaluation metrics against scikit-learn's on the same scores, and their edge cases."""

from __future__ import annotations

import random

import pytest
from sklearn import metrics as sk

from mle.evaluate import metrics


def _data(n: int, seed: int, ties: bool = False) -> tuple[list[int], list[float]]:
    r = random.Random(seed)
    labels = [int(r.random() < 0.3) for _ in range(n)]
    scores = [min(1.0, max(0.0, 0.3 + 0.3 * y + r.gauss(0, 0.25))) for y in labels]
    if ties:
        scores = [round(s, 1) for s in scores]
    return labels, scores


@pytest.mark.parametrize("ties", [False, True])
def test_metrics_equal_scikit_learn(ties: bool) -> None:
    labels, scores = _data(2000, 7, ties)
    s = metrics.summarize(labels, scores, 0.5)
    predicted = [int(x >= 0.5) for x in scores]
    assert s.precision == pytest.approx(sk.precision_score(labels, predicted), abs=1e-12)
    assert s.recall == pytest.approx(sk.recall_score(labels, predicted), abs=1e-12)
    assert s.f1 == pytest.approx(sk.f1_score(labels, predicted), abs=1e-12)
    assert s.roc_auc == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    clipped = [min(max(x, metrics.EPS), 1 - metrics.EPS) for x in scores]
    assert s.log_loss == pytest.approx(sk.log_loss(labels, clipped), rel=1e-9)
    fpr, tpr = metrics.roc_curve(labels, scores)
    sk_fpr, sk_tpr, _ = sk.roc_curve(labels, scores, drop_intermediate=False)
    assert fpr == pytest.approx(list(sk_fpr)) and tpr == pytest.approx(list(sk_tpr))


def test_undefined_metrics_are_none() -> None:
    s = metrics.summarize([0, 0, 0], [0.1, 0.2, 0.3])
    assert s.roc_auc is None and s.precision is None and s.recall is None and s.f1 is None
    assert metrics.summarize([], []).log_loss is None


def test_windows_and_recovery() -> None:
    labels = [1, 0] * 50
    scores = [0.0] * 40 + [float(y) for y in labels[40:]]  # useless for 40 events, then perfect
    ws = metrics.windows(list(range(100)), labels, scores, 20)
    assert [w.summary.roc_auc for w in ws] == [0.5, 0.5, 1.0, 1.0, 1.0]
    assert [(w.start, w.end) for w in ws][2] == (40, 59)
    assert metrics.recovery(ws, 30, 1.0) == 30  # the window 40..59 is the first wholly after 30 at F1 1
    assert metrics.recovery(ws[:2], 0, 1.0) is None


def test_sliding_windows() -> None:
    labels = [1, 0] * 10
    ws = metrics.windows(list(range(100, 120)), labels, [float(y) for y in labels], 10, step=5)
    assert [(w.start, w.end) for w in ws] == [(100, 109), (105, 114), (110, 119)]
    assert all(w.summary.events == 10 and w.summary.f1 == 1.0 for w in ws)
