"""Binary classification metrics of scores against labels, in pure Python (no numpy).

Labels are 0 and 1 (1 = malicious); scores are in [0, 1], taken as the probability of
1. The label metrics (precision, recall, F1) use ``score >= threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

#: scores are clipped to [EPS, 1 - EPS] before the log loss (scikit-learn's float64 eps would
#: let one confident mistake dominate; 1e-15 is what River and older scikit-learn used)
EPS = 1e-15


@dataclass(frozen=True)
class Summary:
    """Every metric of one set of (label, score) pairs."""

    events: int
    positives: int
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float | None
    recall: float | None
    f1: float | None
    roc_auc: float | None
    log_loss: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """The area under the ROC curve: the probability that a random positive scores above
    a random negative (ties count half). None when one class is missing."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0  # the sum of the positives' ranks (1-based, ties given their average rank)
    i = 0
    n = len(order)
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average = (i + j) / 2 + 1
        rank_sum += average * sum(labels[order[k]] for k in range(i, j + 1))
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Mean negative log-likelihood of the labels under the scores (clipped to [EPS, 1-EPS])."""
    if not labels:
        return None
    total = 0.0
    for y, p in zip(labels, scores, strict=True):
        p = min(max(p, EPS), 1 - EPS)
        total -= math.log(p) if y else math.log(1 - p)
    return total / len(labels)


def summarize(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> Summary:
    """Every metric of these pairs; a metric without a defined value is None."""
    tp = fp = fn = 0
    for y, s in zip(labels, scores, strict=True):
        if s >= threshold:
            if y:
                tp += 1
            else:
                fp += 1
        elif y:
            fn += 1
    n = len(labels)
    positives = tp + fn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, positives)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return Summary(n, positives, tp, fp, fn, n - tp - fp - fn, precision, recall, f1,
                   roc_auc(labels, scores), log_loss(labels, scores))


def roc_curve(labels: Sequence[int], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    positives = sum(labels)
    negatives = len(labels) - positives
    pairs = sorted(zip(scores, labels, strict=True), reverse=True)
    fpr, tpr = [0.0], [0.0]
    tp = fp = 0
    for i, (score, y) in enumerate(pairs):
        if y:
            tp += 1
        else:
            fp += 1
        if i + 1 == len(pairs) or pairs[i + 1][0] != score:
            fpr.append(fp / negatives if negatives else 0.0)
            tpr.append(tp / positives if positives else 0.0)
    return fpr, tpr


@dataclass(frozen=True)
class Window:
    """The metrics of ``size`` consecutive scored events ending at stream position ``end``."""

    start: int  # stream position of the first event (0-based)
    end: int  # stream position of the last event
    summary: Summary

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, **self.summary.as_dict()}


def windows(positions: Sequence[int], labels: Sequence[int], scores: Sequence[float], size: int,
            threshold: float = 0.5, step: int | None = None) -> list[Window]:
    """Metrics over windows of ``size`` scored events, one starting every ``step`` (default:
    ``size``, consecutive windows that do not overlap). A last, shorter window is kept
    when it holds at least half as many events."""
    out: list[Window] = []
    for start in range(0, len(labels), step or size):
        stop = min(start + size, len(labels))
        if stop - start < max(1, size // 2) and out:
            break
        if stop - start < size and step and out:
            break
        out.append(Window(positions[start], positions[stop - 1],
                          summarize(labels[start:stop], scores[start:stop], threshold)))
    return out


def recovery(windows_: Sequence[Window], change: int, reference: float | None, tolerance: float = 0.01,
             metric: str = "f1") -> int | None:
    """Events after stream position ``change`` until the first window (wholly after it)
    whose ``metric`` is back to at least ``reference - tolerance``; None if none is."""
    if reference is None:
        return None
    for w in windows_:
        value = getattr(w.summary, metric)
        if w.start >= change and value is not None and value >= reference - tolerance:
            return w.end - change + 1
    return None
