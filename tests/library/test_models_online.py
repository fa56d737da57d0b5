"""Online models (mle.models.*) against River on the same stream, to 1e-9: logistic
regression by SGD (weights, intercept and every probability) and multinomial naive
Bayes (every class probability). Feature hashing gives the same buckets in Lua and
in Python (mle.export.hash_features)."""

from __future__ import annotations

import random

import pytest

from mle.export import char_ngrams, hash_features, stable_hash
from tests.library.lua_units import run_analyzer

river = pytest.importorskip("river")
from river import linear_model, naive_bayes, optim  # noqa: E402

LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORDS = ["mail", "login", "cdn", "static", "api", "shop", "news", "cloud", "secure", "update"]


def domains(n: int, seed: int) -> list[tuple[str, bool]]:
    """Readable names (label False) and random-letter names (label True)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.4:
            name = "".join(rng.choice(LETTERS + "0123456789") for _ in range(rng.randint(8, 16)))
            out.append((name + rng.choice([".com", ".net", ".info"]), True))
        else:
            out.append((rng.choice(WORDS) + rng.choice(WORDS) + rng.choice([".com", ".org", ".de"]), False))
    return out


N_BUCKETS = 4096


def features(name: str) -> dict:
    """Hashed character trigrams plus two dense features (what the analyzer builds in Lua)."""
    x: dict = {str(k): float(v) for k, v in hash_features(char_ngrams(name, 3), N_BUCKETS).items()}
    x["len"] = len(name) / 20
    x["digits"] = sum(c.isdigit() for c in name) / len(name)
    return x


LR_ANALYZER = """
local LR = require "mle.models.logistic_regression"
local hashing = require "mle.models.hashing"
local m = LR(%s)
local seen = {}
function loop(msg)
  local x = {}
  for bucket, v in pairs(hashing.transform(hashing.char_ngrams(msg.name, 3), %d)) do
    x[tostring(bucket)] = v
  end
  local digits = select(2, msg.name:gsub("%%d", ""))
  x.len, x.digits = #msg.name / 20, digits / #msg.name
  msg.p = exact(m:score_learn(x, msg.y))
  for k in pairs(x) do seen[k] = true end
  if msg.last then
    local w = {}
    for k in pairs(seen) do w[k] = exact(m.state.weights[k]) end
    msg.weights, msg.intercept = w, exact(m.state.intercept)
  end
  dragonfly.output_event(default_output, msg)
end
"""


@pytest.mark.parametrize(("options", "optimizer", "l2"), [
    ("{lr = 0.1}", lambda: optim.SGD(0.1), 0.0),
    ("{lr = 0.5, l2 = 0.001, schedule = 'inverse_scaling', power = 0.5}",
     lambda: optim.SGD(optim.schedulers.InverseScaling(0.5, 0.5)), 0.001),
])
def test_logistic_regression_equals_rivers(make_root, harness, runtime, options, optimizer, l2):
    data = domains(2000, seed=5)
    events = [{"name": n, "y": y, "last": i == len(data) - 1} for i, (n, y) in enumerate(data)]
    out = run_analyzer(make_root, harness, LR_ANALYZER % (options, N_BUCKETS), events, runtime=runtime)

    model = linear_model.LogisticRegression(optimizer=optimizer(), l2=l2)
    for (name, y), event in zip(data, out, strict=True):
        x = features(name)
        assert float(event["p"]) == pytest.approx(model.predict_proba_one(x)[True], abs=1e-9)
        model.learn_one(x, y)
    weights = {k: float(v) for k, v in out[-1]["weights"].items()}
    assert weights.keys() == model.weights.keys()
    assert max(abs(weights[k] - v) for k, v in model.weights.items()) <= 1e-9
    assert float(out[-1]["intercept"]) == pytest.approx(model.intercept, abs=1e-9)
    late = [(float(e["p"]), y) for e, (_, y) in zip(out[1000:], data[1000:], strict=True)]
    assert sum((p > 0.5) == y for p, y in late) / len(late) > 0.9  # it learnt something


NB_ANALYZER = """
local NB = require "mle.models.naive_bayes"
local m = NB{alpha = %s}
function loop(msg)
  local x = {}
  for token, count in pairs(msg.tokens) do x[token] = count end
  local p = m:score_learn(x, msg.y)
  local out = {}
  for c, v in pairs(p) do out[c] = exact(v) end
  msg.p, msg.predicted = out, m:predict_one(x)
  dragonfly.output_event(default_output, msg)
end
"""


def requests(n: int, seed: int) -> list[tuple[dict[str, int], str]]:
    """Token counts of HTTP-ish requests in three classes."""
    rng = random.Random(seed)
    vocab = {
        "benign": ["get", "index", "css", "js", "png", "home", "news"],
        "scan": ["get", "admin", "php", "wp", "login", "env", "git"],
        "exploit": ["post", "cmd", "shell", "exec", "passwd", "php", "union"],
    }
    out = []
    for _ in range(n):
        label = rng.choices(list(vocab), weights=[6, 3, 1])[0]
        tokens: dict[str, int] = {}
        for _ in range(rng.randint(1, 6)):
            word = rng.choice(vocab[label]) if rng.random() < 0.8 else f"w{rng.randint(0, 300)}"
            tokens[word] = tokens.get(word, 0) + 1
        out.append((tokens, label))
    return out


@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_multinomial_nb_equals_rivers(make_root, harness, runtime, alpha):
    data = requests(1500, seed=9)
    out = run_analyzer(make_root, harness, NB_ANALYZER % alpha, [{"tokens": t, "y": y} for t, y in data],
                       runtime=runtime)
    model = naive_bayes.MultinomialNB(alpha=alpha)
    for (tokens, y), event in zip(data, out, strict=True):
        expected = model.predict_proba_one(tokens)
        got = {c: float(v) for c, v in (event["p"] or {}).items()}
        assert got.keys() == expected.keys()
        assert all(abs(got[c] - expected[c]) <= 1e-9 for c in expected)
        model.learn_one(tokens, y)
    assert sum(e["predicted"] == y for e, (_, y) in zip(out[500:], data[500:], strict=True)) / 1000 > 0.85


HASH = """
local hashing = require "mle.models.hashing"
function loop(msg)
  msg.hash = hashing.hash(msg.s)
  local grams = {}
  for g, c in pairs(hashing.char_ngrams(msg.s, 3)) do grams[g] = c end
  if next(grams) and not msg.s:find("[\\128-\\255]") then msg.grams = grams end  -- ASCII: grams are text
  dragonfly.output_event(default_output, msg)
end
"""


def test_hashing_is_the_same_in_lua_and_python(make_root, harness, runtime):
    strings = ["", "a", "example.com", "xn--bcher-kva.de", "ü-ñ", "x" * 1000, "\x00\x01\xff"]
    out = run_analyzer(make_root, harness, HASH, [{"s": s} for s in strings], runtime=runtime)
    assert [e["hash"] for e in out] == [stable_hash(s) for s in strings]
    assert [e.get("grams", {}) for e in out if e["s"].isascii()] == [char_ngrams(s, 3) for s in strings if s.isascii()]
    assert stable_hash("example.com") == 2033889873  # fixed forever: exported models depend on it
