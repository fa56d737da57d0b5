"""The shared (Redis) variants of HST, rarity, logistic regression and naive Bayes
(mle/lua/lib/shared/*.lua, mle/lua/redis/{anomaly,models}.lua): one FCALL per
score-then-learn, the same results as the local unit (and so as River), state shared
by every worker, keys in one hash slot with their TTL."""

from __future__ import annotations

import random

import orjson
import pytest

from tests.library.lua_units import PRELUDE, run_analyzer
from tests.library.test_anomaly_hst import stream as hst_stream
from tests.library.test_anomaly_scorers import rarity_reference
from tests.library.test_models_online import requests

river = pytest.importorskip("river")
from river import linear_model, naive_bayes, optim  # noqa: E402

HST_SIDE_BY_SIDE = """
local HST = require "mle.anomaly.hst"
local SharedHST = require "mle.shared.hst"
local opts = {n_trees = 4, height = 5, window_size = 40, seed = 7}
local here = HST(opts)
opts.name, opts.ttl = "flows", 3600
local there = SharedHST(opts)
function loop(msg)
  local x = vector(msg.x)
  msg.here, msg.there = exact(here:score_learn(x)), exact(there:score_learn(msg.host, x))
  dragonfly.output_event(default_output, msg)
end
"""


def test_shared_hst_scores_as_the_local_one(make_root, harness, functions, redis_client, runtime):
    events = [{**e, "host": "10.0.0.1"} for e in hst_stream(610, seed=3)]  # 15 windows of 40 and a part
    out = run_analyzer(make_root, harness, HST_SIDE_BY_SIDE, events, runtime=runtime)
    assert [float(e["there"]) for e in out] == [float(e["here"]) for e in out]
    assert len({e["here"] for e in out}) > 20
    keys = sorted(k.decode() for k in redis_client.keys("*"))
    assert keys == ["mle:a:{flows:10.0.0.1}", "mle:a:{flows:10.0.0.1}:a", "mle:a:{flows:10.0.0.1}:b"]
    assert all(0 < redis_client.pttl(k) <= 3600_000 for k in keys)


RARITY = """
local Rarity = require "mle.shared.rarity"
local r = Rarity{name = "country", alpha = 0.5}
function loop(msg)
  msg.score = exact(r:score_learn(msg.key, msg.value))
  dragonfly.output_event(default_output, msg)
end
"""


def test_shared_rarity_follows_the_formula_across_two_workers(make_root, two_workers, functions):
    rng = random.Random(4)
    events = [{"key": rng.choice(["h1", "h2"]), "value": rng.choice(["US"] * 8 + ["DE", "KP"]), "i": i}
              for i in range(400)]
    first, second = two_workers(PRELUDE + RARITY)
    for start in range(0, 400, 50):  # alternate batches between the two workers
        (first if start % 100 == 0 else second).push([orjson.dumps(e) for e in events[start:start + 50]])
    out = sorted(first.events("out") + second.events("out"), key=lambda e: e["i"])
    assert [float(e["score"]) for e in out] == pytest.approx(rarity_reference(events, 0.5), abs=1e-12)


LR = """
local LR = require "mle.shared.logistic_regression"
local m = LR{name = "lr", lr = 0.5, l2 = 0.001, schedule = "inverse_scaling"}
function loop(msg)
  msg.p = exact(m:score_learn(msg.key, vector(msg.x), msg.y))
  dragonfly.output_event(default_output, msg)
end
"""


def test_shared_logistic_regression_equals_rivers(make_root, harness, functions, runtime):
    rng = random.Random(6)
    events = []
    for _ in range(800):
        x = {f"f{j}": rng.gauss(0, 1) for j in rng.sample(range(30), 5)}
        y = sum(x.get(f"f{j}", 0) for j in range(10)) + rng.gauss(0, 0.5) > 0
        events.append({"x": x, "y": y, "key": "all"})
    out = run_analyzer(make_root, harness, LR, events, runtime=runtime)
    model = linear_model.LogisticRegression(optimizer=optim.SGD(optim.schedulers.InverseScaling(0.5)), l2=0.001)
    for event, result in zip(events, out, strict=True):
        assert float(result["p"]) == pytest.approx(model.predict_proba_one(event["x"])[True], abs=1e-9)
        model.learn_one(event["x"], event["y"])


NB = """
local NB = require "mle.shared.naive_bayes"
local m = NB{name = "nb", alpha = 1}
function loop(msg)
  local p = m:score_learn(nil, vector(msg.tokens), msg.y)
  local out = {}
  for c, v in pairs(p) do out[c] = exact(v) end
  if next(out) then msg.p = out end
  dragonfly.output_event(default_output, msg)
end
"""


def test_shared_naive_bayes_equals_rivers(make_root, harness, functions):
    data = requests(600, seed=2)
    out = run_analyzer(make_root, harness, NB, [{"tokens": t, "y": y} for t, y in data])
    model = naive_bayes.MultinomialNB(alpha=1)
    for (tokens, y), result in zip(data, out, strict=True):
        expected = model.predict_proba_one(tokens)
        got = {c: float(v) for c, v in result.get("p", {}).items()}
        assert got.keys() == expected.keys()
        assert all(abs(got[c] - expected[c]) <= 1e-9 for c in expected)
        model.learn_one(tokens, y)


ERRORS = """
local HST = require "mle.shared.hst"
local hst = HST{name = "h"}
function loop(msg)
  local ok, err = pcall(hst.score_learn, hst, "k", {a = 0.5})
  msg.err = tostring(err)
  ok, err = pcall(HST, {name = "h", trees = {}})
  msg.trees = tostring(err)
  ok, err = pcall(HST, {n_trees = 2})
  msg.name = tostring(err)
  dragonfly.output_event(default_output, msg)
end
"""


def test_shared_unit_errors_name_the_unit_and_key(make_root, harness, functions, redis_client):
    redis_client.set("mle:a:{h:k}", "not a hash")
    out = run_analyzer(make_root, harness, ERRORS, [{}])[0]
    assert out["err"].startswith("shared.HalfSpaceTrees k: ") and "WRONGTYPE" in out["err"]
    assert 'option "trees" is not supported' in out["trees"]
    assert 'shared.HalfSpaceTrees: option "name" must be a non-empty string' in out["name"]
