"""Redis-ML emulation: the redis-ml module's commands answered by MLE's functions
(mle/lua/redis/redisml.lua) after the rewrite of mle/lua/redisml.lua.

Checked against the module's documented examples (its docs/commands.md and README:
ML.LOGREG.PREDICT logistic -3 1 -> "0.017986209962091559", ML.LINREG.PREDICT -> "14",
the three-tree forest -> "1" then "0"), and a forest written from scikit-learn trees
against scikit-learn's predictions."""

from __future__ import annotations

from pathlib import Path

import lupa.lua54 as lupa_lua54
import pytest

from tests.library.lua_units import run_analyzer

REWRITE = Path(__file__).resolve().parents[2] / "mle" / "lua" / "redisml.lua"


@pytest.fixture(scope="module")
def rewrite():
    """mle/lua/redisml.lua's rewrite(argv) as a Python function on lists of strings."""
    lua = lupa_lua54.LuaRuntime()
    module = lua.execute(REWRITE.read_text())

    def call(*argv: str):
        result = module.rewrite(lua.table(*argv))
        if isinstance(result, tuple):
            return result
        return list(result.values()) if result not in (None, False) else result

    return call


def send(redis_client, rewrite, command: str):
    """What an old analyzer's conn:command_line(command) gets once MLE rewrites it."""
    argv = rewrite(*command.split(" "))
    assert argv and argv[0] == "FCALL", argv
    return redis_client.execute_command(*argv)


def test_rewrite_maps_ml_commands_to_fcall(rewrite):
    assert rewrite("ML.LOGREG.SET", "dga", "-2.4", "1.9") == ["FCALL", "mle_ml_logreg_set", "1", "dga", "-2.4", "1.9"]
    assert rewrite("ml.forest.run", "f", "1:0.2", "REGRESSION") == [
        "FCALL", "mle_ml_forest_run", "1", "f", "1:0.2", "REGRESSION"]
    assert rewrite("GET", "x") is None
    ok, message = rewrite("ML.MATRIX.SET", "a", "2", "2")
    assert ok is False and "ML.MATRIX.SET is not emulated by MLE" in message
    ok, message = rewrite("ML.LOGREG.PREDICT")
    assert ok is False and "wrong number of arguments for 'ml.logreg.predict'" in message


def test_regressions_give_the_modules_documented_replies(functions, redis_client, rewrite):
    assert send(redis_client, rewrite, "ML.LOGREG.SET logistic 0 2 2") == b"OK"
    assert send(redis_client, rewrite, "ML.LOGREG.PREDICT logistic -3 1") == b"0.017986209962091559"
    assert send(redis_client, rewrite, "ML.LINREG.SET linear 2 3 4 5") == b"OK"
    assert send(redis_client, rewrite, "ML.LINREG.PREDICT linear 1 1 1") == b"14"
    with pytest.raises(Exception, match="3 features for a model of 2 coefficients"):
        send(redis_client, rewrite, "ML.LOGREG.PREDICT logistic 1 2 3")
    redis_client.set("plain", "x")
    with pytest.raises(Exception, match="WRONGTYPE"):
        send(redis_client, rewrite, "ML.LOGREG.PREDICT plain 1 2")


def test_the_documented_forest(functions, redis_client, rewrite):
    for tree, leaves in [(0, "1 .r LEAF 0"), (1, "1 .r LEAF 0"), (2, "0 .r LEAF 1")]:
        assert send(redis_client, rewrite, f"ML.FOREST.ADD myforest {tree} . NUMERIC 1 0.1 .l LEAF {leaves}") == b"OK"
    assert send(redis_client, rewrite, "ML.FOREST.RUN myforest 1:0.01 CLASSIFICATION") == b"1"
    assert send(redis_client, rewrite, "ML.FOREST.RUN myforest 1:0.2 CLASSIFICATION") == b"0"
    assert float(send(redis_client, rewrite, "ML.FOREST.RUN myforest 1:0.01 REGRESSION")) == pytest.approx(2 / 3)
    # named and categoric attributes, stats-weighted votes
    add = "ML.FOREST.ADD f2 0 . CATEGORIC proto 6:17 .l LEAF 1 STATS 1:3 .r LEAF 0"
    assert send(redis_client, rewrite, add) == b"OK"
    assert send(redis_client, rewrite, "ML.FOREST.RUN f2 proto:17,port:53 CLASSIFICATION") == b"1"
    assert send(redis_client, rewrite, "ML.FOREST.RUN f2 proto:1 CLASSIFICATION") == b"0"


def test_forest_add_refuses_broken_trees_and_changes_nothing(functions, redis_client, rewrite):
    assert send(redis_client, rewrite, "ML.FOREST.ADD f 0 . NUMERIC 1 0.5 .l LEAF 0 .r LEAF 1") == b"OK"
    for command, message in [
        ("ML.FOREST.ADD f 0 .l NUMERIC 2 0.5 .ll LEAF 1", "split .l needs both children"),
        ("ML.FOREST.ADD f 2 . LEAF 1", "tree id must be an existing tree or the next one"),
        ("ML.FOREST.ADD f 1 .x LEAF 1", "Wrong path format"),
        ("ML.FOREST.ADD f 1 . SPLIT 1 2", "Wrong split type"),
        ("ML.FOREST.ADD f 1 .l LEAF 1", "has no parent"),
    ]:
        with pytest.raises(Exception, match=message):
            send(redis_client, rewrite, command)
    assert send(redis_client, rewrite, "ML.FOREST.RUN f 1:0.7 CLASSIFICATION") == b"1"
    with pytest.raises(Exception, match="Feature vector parsing failed"):
        send(redis_client, rewrite, "ML.FOREST.RUN f nonsense CLASSIFICATION")
    # a node put where a subtree was replaces the subtree
    assert send(redis_client, rewrite, "ML.FOREST.ADD f 0 . LEAF 1") == b"OK"
    assert send(redis_client, rewrite, "ML.FOREST.RUN f 1:0.1 CLASSIFICATION") == b"1"


def forest_commands(model, key: str) -> list[str]:
    """ML.FOREST.ADD commands for a scikit-learn forest: numeric features 1..n, each
    leaf the tree's probability of class 1 (so REGRESSION gives predict_proba)."""
    np = pytest.importorskip("numpy")
    from mle.export import float32_threshold

    commands = []
    for number, estimator in enumerate(model.estimators_):
        t, words = estimator.tree_, [f"ML.FOREST.ADD {key} {number}"]

        def visit(node: int, path: str, t=t, words=words) -> None:
            if t.feature[node] < 0:
                counts = t.value[node][0]
                words.append(f"{path} LEAF {float(counts[1] / counts.sum())!r}")
                return
            threshold = float32_threshold(float(t.threshold[node]), np)
            words.append(f"{path} NUMERIC {t.feature[node] + 1} {threshold!r}")
            visit(t.children_left[node], path + "l")
            visit(t.children_right[node], path + "r")

        visit(0, ".")
        commands.append(" ".join(words))
    return commands


def test_a_scikit_learn_forest_runs_as_scikit_learn_predicts(functions, redis_client, rewrite):
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.ensemble import RandomForestClassifier

    x, y = datasets.make_classification(n_samples=500, n_features=6, random_state=2)
    model = RandomForestClassifier(n_estimators=7, max_depth=6, random_state=0).fit(x[:400], y[:400])
    for command in forest_commands(model, "rf"):
        assert send(redis_client, rewrite, command) == b"OK"
    expected = model.predict_proba(x[400:])[:, 1]
    for row, p in zip(x[400:], expected, strict=True):
        sample = ",".join(f"{i + 1}:{float(v)!r}" for i, v in enumerate(row))
        got = float(send(redis_client, rewrite, f"ML.FOREST.RUN rf {sample} REGRESSION"))
        assert got == pytest.approx(p, abs=1e-12)


SCRIPT_FCALL = """
local c = hiredis.connect()
function loop(msg)
  c:command("FCALL", "mle_ml_logreg_set", "1", "logistic", "0", "2", "2")
  msg.p = c:command("FCALL", "mle_ml_logreg_predict", "1", "logistic", -3, 1)
  dragonfly.output_event(default_output, msg)
end
"""


def test_an_analyzer_reaches_the_functions_without_allow_eval(make_root, harness, functions):
    out = run_analyzer(make_root, harness, SCRIPT_FCALL, [{}])
    assert out[0]["p"] == "0.017986209962091559"


SCRIPT_RAW = """
local c = hiredis.connect()
function loop(msg)
  local ok = c:command_line("ML.LOGREG.SET dga 0 2 2")
  msg.set = type(ok) == "table" and (ok.name or "?") or tostring(ok)
  msg.p = c:command_line("ML.LOGREG.PREDICT dga -3 1")
  if type(msg.p) == "table" then msg.p = msg.p.name end
  dragonfly.output_event(default_output, msg)
end
"""


def test_an_old_analyzer_sends_raw_ml_commands(make_root, harness, functions):
    out = run_analyzer(make_root, harness, SCRIPT_RAW, [{}])
    assert out[0]["set"] == "OK"
    assert out[0]["p"] == "0.017986209962091559"


SCRIPT_UNSUPPORTED = """
local c = hiredis.connect()
function loop(msg)
  local reply = c:command_line("ML.MATRIX.SET m 2 2 1 2 3 4")
  msg.error = type(reply) == "table" and reply.name or tostring(reply)
  dragonfly.output_event(default_output, msg)
end
"""


def test_an_unsupported_ml_command_is_an_error_reply_naming_it(make_root, harness, functions):
    out = run_analyzer(make_root, harness, SCRIPT_UNSUPPORTED, [{}])
    assert "ML.MATRIX.SET is not emulated by MLE" in out[0]["error"]
