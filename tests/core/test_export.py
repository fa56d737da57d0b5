"""`mle export-model`: scikit-learn models exported to JSON and scored in Lua
(mle.models.exported) give scikit-learn's predict_proba on held-back rows to 1e-9."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from mle.export import float32_threshold
from tests.conftest import run_mle
from tests.library.lua_units import run_analyzer

np = pytest.importorskip("numpy")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

SCORER = """
local models = require "mle.models"
local model
function setup()
  local f = assert(io.open("analyzers/model.json"))
  model = models.load_json(f:read("*a"))
  f:close()
end
function loop(msg)
  local x = msg.row
  if msg.by_name then
    x = {}
    for k, v in pairs(msg.by_name) do x[k] = v end
  else
    x = {}
    for i = 1, #msg.row do x[i] = msg.row[i] end
  end
  local p = {}
  for c, v in pairs(model:predict_proba(x)) do p[tostring(c)] = exact(v) end
  msg.p, msg.predicted = p, model:predict_one(x)
  local one = model:predict_proba_one(x)
  if type(one) == "number" then msg.one = exact(one) end
  dragonfly.output_event(default_output, msg)
end
"""


def dataset(n_classes: int):
    x, y = sklearn_datasets.make_classification(
        n_samples=900, n_features=8, n_informative=5, n_classes=n_classes, random_state=4)
    x[:, 0] = np.round(x[:, 0], 1)  # repeated values: rows that sit exactly on split thresholds
    return x[:600], y[:600], x[600:], y[600:]


MODELS = {
    "logistic_regression": lambda: LogisticRegression(C=0.5, max_iter=500),
    "random_forest": lambda: RandomForestClassifier(n_estimators=25, max_depth=8, random_state=0),
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0),
}


def export(tmp_path: Path, model, *extra: str) -> dict:
    pkl, out = tmp_path / "model.pkl", tmp_path / "model.json"
    pkl.write_bytes(pickle.dumps(model))
    result = run_mle("export-model", str(pkl), str(out), *extra)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(out.read_text())


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("kind", list(MODELS))
def test_exported_model_scores_like_scikit_learn(make_root, harness, tmp_path, kind, n_classes):
    x_train, y_train, x_test, _ = dataset(n_classes)
    model = MODELS[kind]().fit(x_train, y_train)
    doc = export(tmp_path, model)
    assert doc["kind"] == kind and doc["version"] == 1 and doc["classes"] == list(range(n_classes))

    out = run_analyzer(make_root, harness, SCORER, [{"row": [float(v) for v in r]} for r in x_test],
                       files={"analyzers/model.json": json.dumps(doc)})
    expected = model.predict_proba(x_test)
    got = np.array([[float(e["p"][str(c)]) for c in range(n_classes)] for e in out])
    assert np.max(np.abs(got - expected)) <= 1e-9
    assert [e["predicted"] for e in out] == list(model.predict(x_test))
    if n_classes == 2:
        assert np.max(np.abs(np.array([float(e["one"]) for e in out]) - expected[:, 1])) <= 1e-9


def test_feature_names_let_lua_pass_features_by_name(make_root, harness, tmp_path):
    x_train, y_train, x_test, _ = dataset(2)
    model = RandomForestClassifier(n_estimators=10, random_state=1).fit(x_train, y_train)
    names = [f"f{i}" for i in range(8)]
    doc = export(tmp_path, model, "--feature-names", ",".join(names))
    assert doc["feature_names"] == names
    events = [{"by_name": dict(zip(names, map(float, r), strict=True))} for r in x_test[:100]]
    out = run_analyzer(make_root, harness, SCORER, events, files={"analyzers/model.json": json.dumps(doc)})
    expected = model.predict_proba(x_test[:100])[:, 1]
    assert np.max(np.abs(np.array([float(e["one"]) for e in out]) - expected)) <= 1e-9


def test_thresholds_reproduce_the_float32_comparison_of_scikit_learn():
    rng = np.random.default_rng(0)
    thresholds = np.concatenate([rng.normal(0, 10, 2000), [0.1, 1 / 3, 1e-30, -2.5, 123456.789]])
    for t in thresholds:
        t = float(t)
        bound = float32_threshold(t, np)
        candidates = [bound, np.nextafter(bound, np.inf), np.nextafter(bound, -np.inf), t,
                      float(np.float32(t)), np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
        for x in candidates:
            assert (float(np.float32(x)) <= t) == (x <= bound), (t, x)  # float32 value, double compare


def test_unsupported_and_unfitted_models_are_refused(tmp_path):
    x_train, y_train, _, _ = dataset(2)
    for model, message in [(SVC().fit(x_train, y_train), "SVC is not supported"),
                           (LogisticRegression(), "LogisticRegression is not fitted")]:
        pkl = tmp_path / "m.pkl"
        pkl.write_bytes(pickle.dumps(model))
        result = run_mle("export-model", str(pkl), str(tmp_path / "m.json"))
        assert result.returncode == 1
        assert message in result.stderr.decode()
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    result = run_mle("export-model", str(bad), str(tmp_path / "m.json"))
    assert result.returncode == 1 and "bad.pkl" in result.stderr.decode()


def test_help_warns_that_a_pickle_is_code():
    result = run_mle("export-model", "--help")
    assert "Loading a pickle runs code" in " ".join(result.stdout.decode().split())


def test_the_engine_does_not_import_scikit_learn():
    code = "import sys, mle.cli, mle.pipeline, mle.worker; assert 'sklearn' not in sys.modules, 'sklearn imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
