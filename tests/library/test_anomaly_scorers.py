"""The z-score, MAD and rarity scorers (mle.anomaly.*) against their references on
the same stream: River's GaussianScorer, numpy/scipy over the same windows, and the
documented rarity formula over Python counters. Tolerance 1e-9."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

import pytest

from tests.library.lua_units import run_analyzer

river = pytest.importorskip("river")
np = pytest.importorskip("numpy")
scipy_stats = pytest.importorskip("scipy.stats")
from river import anomaly  # noqa: E402


def values(n: int, seed: int) -> list[float]:
    """Log-normal sizes with bursts of outliers and runs of one repeated value."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 300 < 5:
            out.append(1e6 * rng.random())
        elif i % 500 < 40:
            out.append(512.0)
        else:
            out.append(math.exp(rng.gauss(6, 0.5)))
    return out


SCORER = """
local Unit = require "mle.anomaly.%s"
local d = Unit(%s)
function loop(msg)
  local z = d:deviation(msg.v)   -- before learning it, as the score
  msg.z = z and exact(z) or nil
  msg.score = exact(d:score_learn(msg.v))
  dragonfly.output_event(default_output, msg)
end
"""


def test_zscore_equals_rivers_gaussian_scorer(make_root, harness, runtime):
    stream = values(3000, seed=1)
    out = run_analyzer(make_root, harness, SCORER % ("zscore", "{grace_period = 50}"), [{"v": v} for v in stream],
                       runtime=runtime)
    reference = anomaly.GaussianScorer(grace_period=50)
    for v, event in zip(stream, out, strict=True):
        expected = reference.score_one(None, v)
        reference.learn_one(None, v)
        assert float(event["score"]) == pytest.approx(expected, abs=1e-9)
    # the deviation after the stream: numpy's mean and sample standard deviation
    z_last = (stream[-1] - np.mean(stream[:-1])) / np.std(stream[:-1], ddof=1)
    assert float(out[-1]["z"]) == pytest.approx(z_last, rel=1e-9)
    scores = [float(e["score"]) for e in out]
    assert scores[:50] == [0.0] * 50 and max(scores) > 0.99


def test_mad_equals_scipy_over_the_window(make_root, harness, runtime):
    stream = values(2500, seed=2)
    window, grace = 200, 30
    out = run_analyzer(make_root, harness, SCORER % ("mad", f"{{window_size = {window}, grace_period = {grace}}}"),
                       [{"v": v} for v in stream], runtime=runtime)
    checked = 0
    for i, (v, event) in enumerate(zip(stream, out, strict=True)):
        seen = np.array(stream[max(0, i - window):i])  # what the scorer had learnt before v
        if len(seen) < grace:
            assert float(event["score"]) == 0.0
            continue
        median = np.median(seen)
        mad = scipy_stats.median_abs_deviation(seen, scale="normal")
        if mad == 0:
            expected = 0.0 if v == median else 1.0
        else:
            expected = math.erf(abs(v - median) / mad / math.sqrt(2))
            assert float(event["z"]) == pytest.approx((v - median) / mad, rel=1e-9, abs=1e-12)
        assert float(event["score"]) == pytest.approx(expected, abs=1e-9), i
        checked += 1
    assert checked == len(stream) - grace


RARITY = """
local Rarity = require "mle.anomaly.rarity"
local r = Rarity{alpha = 0.5}
function loop(msg)
  msg.score = exact(r:score_learn(msg.value, msg.key))
  dragonfly.output_event(default_output, msg)
end
"""


def rarity_reference(events: list[dict], alpha: float) -> list[float]:
    """The formula of mle/lua/lib/anomaly/rarity.lua over Python counters."""
    counts: dict[str, Counter] = defaultdict(Counter)
    scores = []
    for e in events:
        c = counts[e["key"]]
        count, total, distinct = c[e["value"]], sum(c.values()), len(c) + (e["value"] not in c)
        scores.append(1 - (count + alpha) / (total + alpha * distinct) if total else 0.0)
        c[e["value"]] += 1
    return scores


def test_rarity_follows_its_formula(make_root, harness, runtime):
    rng = random.Random(3)
    countries = ["US"] * 60 + ["DE"] * 25 + ["FR"] * 10 + ["KP", "IR", "BR", "JP", "CN"]
    events = [{"key": rng.choice(["10.0.0.1", "10.0.0.2", "10.0.0.3"]), "value": rng.choice(countries)}
              for _ in range(2000)]
    out = run_analyzer(make_root, harness, RARITY, events, runtime=runtime)
    got = [float(e["score"]) for e in out]
    assert got == pytest.approx(rarity_reference(events, 0.5), abs=1e-12)
    common = [s for s, e in zip(got[500:], events[500:], strict=True) if e["value"] == "US"]
    rare = [s for s, e in zip(got[500:], events[500:], strict=True) if e["value"] in ("KP", "IR")]
    assert max(common) < 0.5 < min(rare)


BAD_OPTIONS = """
local ok, err = pcall(require("mle.%s"), %s)
function loop(msg) msg.err = tostring(err); dragonfly.output_event(default_output, msg) end
"""


@pytest.mark.parametrize(("unit", "options", "message"), [
    ("anomaly.zscore", "{grace_period = -1}",
     'anomaly.ZScore: option "grace_period" must be an integer in [0, inf], got -1'),
    ("anomaly.mad", "{window_size = 0}", 'anomaly.MAD: option "window_size" must be an integer in [1, inf], got 0'),
    ("anomaly.rarity", "{alpha = 0}", 'anomaly.Rarity: option "alpha" must be a number in (0, inf], got 0'),
    ("anomaly.hst", "{height = 1.5}",
     'anomaly.HalfSpaceTrees: option "height" must be an integer in [1, inf], got 1.5'),
    ("anomaly.hst", "{limits = {x = {1, 0}}}", 'anomaly.HalfSpaceTrees: option "limits" must map every feature'),
    ("anomaly.hst", "{n_trees = 2, trees = {}}", 'option "trees" holds 0 trees for n_trees = 2'),
    ("anomaly.hst", "{n_tree = 2}", 'anomaly.HalfSpaceTrees: unknown option "n_tree"'),
    ("models.logistic_regression", "{schedule = 'optimal'}",
     'models.LogisticRegression: option "schedule" must be one of "constant", "inverse_scaling", got "optimal"'),
    ("models.naive_bayes", "{alpha = -1}", 'models.MultinomialNB: option "alpha" must be a number in [0, inf], got -1'),
])
def test_bad_options_are_errors_naming_the_option(make_root, harness, unit, options, message):
    out = run_analyzer(make_root, harness, BAD_OPTIONS % (unit, options), [{}])
    assert message in out[0]["err"]
