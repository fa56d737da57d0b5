"""Pre-trained scikit-learn models as JSON that MLE scores in Lua (``mle export-model``),
and the feature hashing the Lua library uses (mle/lua/lib/models/hashing.lua), so a
model trained offline on hashed features sees the same features online.

The JSON format is documented in docs/library.md ("Exported models"). scikit-learn is
needed only here, at export time (the ``export`` extra); the engine never imports it.
"""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path
from typing import Any

FORMAT = "mle-model"
VERSION = 1

HASH_MODULUS = 2147483647


def stable_hash(text: str | bytes) -> int:
    """The hash of mle.models.hashing.hash: h = 5381, then h = (h * 1000003 + byte)
    mod 2^31 - 1 for every byte (UTF-8 for str)."""
    data = text.encode() if isinstance(text, str) else text
    h = 5381
    for b in data:
        h = (h * 1000003 + b) % HASH_MODULUS
    return h


def hash_features(x: dict[str | int, float], n_features: int) -> dict[int, float]:
    """{name: value} -> {bucket: summed value}, as mle.models.hashing.transform."""
    out: dict[int, float] = {}
    for name, value in x.items():
        bucket = stable_hash(str(name) if isinstance(name, int) else name) % n_features
        out[bucket] = out.get(bucket, 0) + value
    return out


def char_ngrams(text: str, n: int) -> dict[str, int]:
    """Counts of the n-grams of ``text`` (by bytes, as mle.models.hashing.char_ngrams;
    equal for ASCII text)."""
    if len(text) < n:
        return {text: 1} if text else {}
    grams: dict[str, int] = {}
    for i in range(len(text) - n + 1):
        grams[text[i:i + n]] = grams.get(text[i:i + n], 0) + 1
    return grams


class ExportError(ValueError):
    """A model MLE cannot export, with the reason."""


def load_pickle(path: Path) -> Any:
    """Unpickle a model. A pickle runs code while it loads: only ever call this on a
    file the user named."""
    with path.open("rb") as f:
        return pickle.load(f)


def export_model(model: Any, feature_names: list[str] | None = None) -> dict[str, Any]:
    """The JSON document of a fitted scikit-learn classifier (see docs/library.md)."""
    try:
        import numpy as np
        import sklearn
        from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
    except ImportError as e:  # pragma: no cover - the export extra is missing
        raise ExportError(f"exporting needs scikit-learn: pip install 'mle[export]' ({e})") from e

    if not hasattr(model, "classes_"):
        raise ExportError(f"{type(model).__name__} is not fitted (no classes_)")
    names = feature_names
    if names is None and hasattr(model, "feature_names_in_"):
        names = [str(n) for n in model.feature_names_in_]
    n_features = int(model.n_features_in_)
    if names is not None and len(names) != n_features:
        raise ExportError(f"{len(names)} feature names for a model of {n_features} features")
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "sklearn_version": sklearn.__version__,
        "classes": [c.item() if isinstance(c, np.generic) else c for c in model.classes_],
        "n_features": n_features,
        "feature_names": names,
    }
    if isinstance(model, LogisticRegression):
        doc.update(_logistic_regression(model))
    elif isinstance(model, RandomForestClassifier):
        doc.update(_random_forest(model, np))
    elif isinstance(model, GradientBoostingClassifier):
        doc.update(_gradient_boosting(model, np))
    else:
        raise ExportError(f"{type(model).__name__} is not supported (LogisticRegression, "
                          "RandomForestClassifier, GradientBoostingClassifier are)")
    return doc


def _logistic_regression(model: Any) -> dict[str, Any]:
    if len(model.classes_) > 2 and getattr(model, "multi_class", "auto") == "ovr":
        raise ExportError("one-vs-rest LogisticRegression is not supported (multinomial and binary are)")
    return {
        "kind": "logistic_regression",
        "coef": [[float(v) for v in row] for row in model.coef_],
        "intercept": [float(v) for v in model.intercept_],
    }


def float32_threshold(threshold: float, np: Any) -> float:
    """The largest double t such that float32(x) <= threshold exactly when x <= t.

    scikit-learn's trees compare the float32 copy of a feature with a double
    threshold; this threshold makes the double comparison in Lua take the same branch."""
    f = np.float32(threshold)
    if float(f) > threshold:
        f = np.nextafter(f, np.float32(-np.inf))
    if np.isinf(f):
        return float(f) if f > 0 else -math.inf
    up = np.nextafter(f, np.float32(np.inf))
    upper = float(up) if not np.isinf(up) else 2.0**128
    middle = (float(f) + upper) / 2  # exact in double
    # a double at the midpoint rounds to the float32 with an even mantissa
    mantissa_even = (int(np.array(f, dtype=np.float32).view(np.uint32)) & 1) == 0
    return middle if mantissa_even else float(np.nextafter(middle, -np.inf))


def _tree(tree: Any, np: Any, leaf_value: Any, internal: Any) -> dict[str, Any]:
    """One fitted sklearn tree_: parallel arrays by node (0 = root); leaves have
    feature -1 and a value, split nodes the placeholder ``internal``."""
    t = tree.tree_
    features = [int(f) for f in t.feature]
    return {
        "feature": features,
        "threshold": [float32_threshold(float(th), np) if f >= 0 else 0.0
                      for f, th in zip(features, t.threshold, strict=True)],
        "left": [int(v) for v in t.children_left],
        "right": [int(v) for v in t.children_right],
        "value": [leaf_value(t.value[i]) if features[i] < 0 else internal for i in range(len(features))],
    }


def _random_forest(model: Any, np: Any) -> dict[str, Any]:
    def proba(value: Any) -> list[float]:  # DecisionTreeClassifier.predict_proba's normalisation
        row = np.asarray(value[0], dtype=np.float64)
        total = row.sum()
        return [float(v) for v in (row / (total if total != 0 else 1.0))]

    if model.n_outputs_ != 1:
        raise ExportError("multi-output random forests are not supported")
    return {"kind": "random_forest", "trees": [_tree(e, np, proba, []) for e in model.estimators_]}


def _gradient_boosting(model: Any, np: Any) -> dict[str, Any]:
    from sklearn.dummy import DummyClassifier

    if isinstance(model.init_, str) and model.init_ == "zero":
        baseline = [0.0] * model.estimators_.shape[1]
    elif isinstance(model.init_, DummyClassifier):
        # the prior's raw prediction (constant: it ignores X), exactly as predict_proba starts
        baseline = [float(v) for v in model._raw_predict_init(np.zeros((1, model.n_features_in_)))[0]]
    else:
        raise ExportError("GradientBoostingClassifier with an init estimator is not supported "
                          "(the default prior and 'zero' are)")
    return {
        "kind": "gradient_boosting",
        "learning_rate": float(model.learning_rate),
        "init": baseline,
        # stages[i][k]: the regression tree of stage i for class k (one per stage when binary)
        "stages": [[_tree(t, np, lambda v: float(v[0][0]), 0.0) for t in stage] for stage in model.estimators_],
    }


def write_model(source: Path, out: Path, feature_names: list[str] | None = None) -> dict[str, Any]:
    """Load the pickle at ``source`` (code: a path the user named), export it to ``out``."""
    doc = export_model(load_pickle(source), feature_names)
    out.write_text(json.dumps(doc, allow_nan=False) + "\n", encoding="utf-8")
    return doc
