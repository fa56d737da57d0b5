"""mle.sketch against exact answers and their error bounds on the same streams:
MurmurHash3 against mmh3 (exact), HyperLogLog against the true distinct count and
Redis's own PFCOUNT (within 3 standard errors), CountMin and TopK (Space-Saving)
against exact counts (their guarantees), Bloom against exact membership (no false
negatives, false positives near the rate it was sized for)."""

from __future__ import annotations

import math
import random
from collections import Counter

import mmh3
import pytest
import redis as redis_py

from tests.library import streams


def test_murmur3_matches_mmh3(lua, runtime):
    rng = random.Random(5)
    texts = [*sorted(set(streams.names()))[:300], "", "a", "ab", "abc", "abcd", "abcde", "é", "日本語のドメイン",
             *("".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(0, 40))) for _ in range(300))]
    seeds = [0, 1, 42, 2**32 - 1]
    got = lua("""
        local murmur3 = require "mle.util.murmur3"
        local out = {}
        for _, seed in ipairs(data.seeds) do
          for _, s in ipairs(data.texts) do out[#out + 1] = murmur3.hash(s, seed) end
        end
        return out
    """, {"texts": texts, "seeds": seeds}, runtime=runtime)
    assert got == [mmh3.hash(s.encode(), seed, signed=False) for seed in seeds for s in texts]


def hll_counts(lua, runtime: str, items: list[str], precision: int, checkpoints: list[int]) -> dict:
    return lua(f"""
        local sketch = require "mle.sketch"
        local options = {{precision = {precision}}}
        local h, first, second = sketch.HyperLogLog(options), sketch.HyperLogLog(options), sketch.HyperLogLog(options)
        local at, counts = {{}}, {{}}
        for _, c in ipairs(data.checkpoints) do at[c] = true end
        for i, item in ipairs(data.items) do
          h:add(item)
          if i % 2 == 0 then first:add(item) else second:add(item) end
          if at[i] then counts[#counts + 1] = h:count() end
        end
        first:merge(second)
        return {{counts = counts, merged = first:count(), whole = h:count()}}
    """, {"items": items, "checkpoints": checkpoints}, runtime=runtime)


@pytest.mark.parametrize("precision", [4, 10, 14])
def test_hyperloglog_within_three_standard_errors_like_redis(lua, runtime, precision, redis_client: redis_py.Redis):
    distinct = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(30000)]
    items = distinct * 2
    random.Random(6).shuffle(items)
    checkpoints = [1, 10, 100, 1000, 10000, 30000, 60000]
    got = hll_counts(lua, runtime, items, precision, checkpoints)
    sigma = 1.04 / math.sqrt(2**precision)
    for n, count in zip(checkpoints, got["counts"], strict=True):
        truth = len(set(items[:n]))
        assert abs(count - truth) <= max(3 * sigma * truth, 1), (n, count, truth)
        redis_client.delete("hll")
        redis_client.pfadd("hll", *items[:n])
        redis_count = redis_client.pfcount("hll")
        assert abs(redis_count - truth) <= max(3 * 0.0081 * truth, 1), (n, redis_count, truth)
    assert got["merged"] == got["whole"]  # the union of two halves is the sketch of the whole


def test_hyperloglog_on_real_names(lua, runtime):
    names = streams.names()
    got = hll_counts(lua, runtime, names, 14, [len(names)])
    assert abs(got["whole"] - len(set(names))) <= 3 * 0.0081 * len(set(names))


@pytest.mark.parametrize(("width", "depth"), [(64, 3), (272, 5)])
def test_count_min_never_underestimates_and_stays_within_its_bound(lua, runtime, width, depth):
    items = streams.zipf_items() + streams.names()
    got = lua(f"""
        local sketch = require "mle.sketch"
        local options = {{width = {width}, depth = {depth}}}
        local c, a, b = sketch.CountMin(options), sketch.CountMin(options), sketch.CountMin(options)
        for i, item in ipairs(data.items) do
          c:add(item)
          if i % 2 == 0 then a:add(item) else b:add(item, 1) end
        end
        a:merge(b)
        local counts, merged = {{}}, {{}}
        for i, item in ipairs(data.distinct) do counts[i], merged[i] = c:count(item), a:count(item) end
        return {{counts = counts, merged = merged, total = c:total()}}
    """, {"items": items, "distinct": sorted(set(items))}, runtime=runtime)
    truth = Counter(items)
    distinct = sorted(truth)
    total = len(items)
    assert got["total"] == total
    assert got["merged"] == got["counts"]
    over = [got["counts"][i] - truth[item] for i, item in enumerate(distinct)]
    assert min(over) >= 0
    bound = math.e / width * total
    beyond = sum(1 for d in over if d > bound) / len(distinct)
    assert beyond <= math.exp(-depth) + 0.01, beyond


@pytest.mark.parametrize("k", [10, 50, 200])
def test_top_k_keeps_every_heavy_hitter_with_bounded_error(lua, runtime, k):
    items = streams.zipf_items() + streams.names()
    got = lua(f"""
        local sketch = require "mle.sketch"
        local t = sketch.TopK{{k = {k}}}
        for _, item in ipairs(data) do t:add(item) end
        return {{top = t:top(), total = t:total()}}
    """, items, runtime=runtime)
    truth, total = Counter(items), len(items)
    kept = {row["item"]: row for row in got["top"]}
    assert got["total"] == total and len(kept) == k
    assert sum(row["count"] for row in got["top"]) == total  # Space-Saving's invariant
    for item, count in truth.items():
        if count > total / k:
            assert item in kept, (item, count)
    for item, row in kept.items():
        assert row["count"] - row["error"] <= truth[item] <= row["count"], (item, row, truth[item])
        assert row["error"] <= total / k
    counts = [row["count"] for row in got["top"]]
    assert counts == sorted(counts, reverse=True)


def test_bloom_has_no_false_negatives_and_its_false_positive_rate(lua, runtime):
    members = sorted(set(streams.names())) + [f"member{i}" for i in range(3902)]
    others = [f"other{i}" for i in range(20000)]
    got = lua("""
        local sketch = require "mle.sketch"
        local b = sketch.Bloom{capacity = 5000, fp_rate = 0.01}
        for _, item in ipairs(data.members) do b:add(item) end
        local missed, false_positives = 0, 0
        for _, item in ipairs(data.members) do if not b:contains(item) then missed = missed + 1 end end
        for _, item in ipairs(data.others) do if b:contains(item) then false_positives = false_positives + 1 end end
        local built = sketch.Bloom.build(data.members, {fp_rate = 0.001})
        local built_missed = 0
        for _, item in ipairs(data.members) do if not built:contains(item) then built_missed = built_missed + 1 end end
        return {missed = missed, fp = false_positives, bits = b.state.bits, hashes = b.state.hashes, n = b:count(),
                built = {bits = built.state.bits, hashes = built.state.hashes, missed = built_missed}}
    """, {"members": members, "others": others}, runtime=runtime)
    n = len(members)
    assert n == 5000
    assert got["missed"] == 0 and got["built"]["missed"] == 0
    assert got["bits"] == math.ceil(-5000 * math.log(0.01) / math.log(2) ** 2) and got["hashes"] == 7
    assert got["built"]["bits"] == math.ceil(-n * math.log(0.001) / math.log(2) ** 2) and got["built"]["hashes"] == 10
    assert got["fp"] / len(others) <= 0.01 + 3 * math.sqrt(0.01 / len(others)) + 0.003
    assert got["n"] >= n - got["fp"]  # items counted as new (a few looked present already)


def test_bloom_reads_an_indicator_list_in_setup(make_root, harness):
    root = make_root("""
        inputs = { { tag = "in", uri = "file://in.json", default_analyzer = "ioc" } }
        analyzers = { { tag = "ioc", script = "ioc.lua", default_output = "out" } }
        outputs = { { tag = "out", uri = "file://out.json" } }
    """, analyzers={"ioc.lua": """
        local sketch = require "mle.sketch"
        local iocs
        function setup() iocs = sketch.Bloom.read("analyzers/iocs.txt", {fp_rate = 0.0001}) end
        function loop(msg)
          if iocs:contains(msg.dns.rrname) then mle.finding(msg, 1, "known bad domain " .. msg.dns.rrname) end
          dragonfly.output_event("out", msg)
        end
    """}, files={"analyzers/iocs.txt": "# indicators\nevil.example\n\n  bad.example  \n"})
    h = harness(root)
    h.push(['{"dns": {"rrname": "evil.example"}}', '{"dns": {"rrname": "good.example"}}',
            '{"dns": {"rrname": "bad.example"}}', '{"dns": {"rrname": "# indicators"}}'])
    flagged = [e["dns"]["rrname"] for e in h.events("out") if "mle" in e]
    assert flagged == ["evil.example", "bad.example"]
