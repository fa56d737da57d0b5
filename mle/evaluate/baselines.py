"""The batch baseline: the analyzer's own features, a scikit-learn model trained on a split.

An analyzer that calls ``mle.features(msg, {name = value, ...})`` leaves, for each
event it scores, the features its model saw. The events before the split (the first
``train_fraction`` of the stream, by position: the past) train a
``LogisticRegression`` (the same family as the library's online
``models.LogisticRegression``) in batch, numbers as they are and strings one-hot
(``DictVectorizer``); it then scores the events after the split, the same events the
online and frozen models are compared on. Needs scikit-learn (``pip install
'mle[evaluate]'``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mle.errors import MLEError
from mle.evaluate.runner import Scores


class BaselineUnavailable(MLEError):
    """The batch baseline cannot be built (no features, one class, no scikit-learn)."""


@dataclass
class BatchBaseline:
    """A batch model's scores on the test part of the stream."""

    test: Scores
    trained_on: int
    n_features: int
    model: str


def batch_baseline(scored: Scores, split: int, *, c: float = 1.0, max_iter: int = 2000) -> BatchBaseline:
    """Train on the events of ``scored`` before stream position ``split``, score the rest."""
    try:
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise BaselineUnavailable("the batch baseline needs scikit-learn: pip install 'mle[evaluate]'") from None
    if not any(f is not None for f in scored.features):
        raise BaselineUnavailable("the analyzer records no features (mle.features): no batch baseline")
    train, test = scored.before(split), scored.after(split)
    rows = [(f, y) for f, y in zip(train.features, train.labels, strict=True) if f is not None]
    if len({y for _, y in rows}) < 2:
        raise BaselineUnavailable("the train split holds one class only: no batch baseline")
    if not test.labels:
        raise BaselineUnavailable("nothing after the split to score")
    vectorizer = DictVectorizer()
    x_train = vectorizer.fit_transform([_clean(f) for f, _ in rows])
    model = LogisticRegression(C=c, max_iter=max_iter)
    model.fit(x_train, [y for _, y in rows])
    x_test = vectorizer.transform([_clean(f or {}) for f in test.features])
    probabilities = model.predict_proba(x_test)[:, list(model.classes_).index(1)]
    scores = Scores(list(test.positions), list(test.labels), [float(p) for p in probabilities],
                    [None] * len(test.labels))
    return BatchBaseline(scores, len(rows), len(vectorizer.feature_names_), f"LogisticRegression(C={c})")


def _clean(features: dict) -> dict:
    """Booleans as 0/1 (DictVectorizer takes numbers and strings)."""
    return {k: (int(v) if isinstance(v, bool) else v) for k, v in features.items()}
