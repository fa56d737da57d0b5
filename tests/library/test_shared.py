"""mle.shared: two workers of one analyzer (two harnesses on one Redis) updating
shared units get the answers one local unit fed the whole stream gives, event by
event (the values before and after each update; floating values to 1e-12 relative,
the server's libm may round 2^x differently in the last bit, counts exactly). Each
event touches each unit once: events of different flows run side by side, so a read
and a later write of one unit in the same event may see another event's write. Keys
carry the analyzer's prefix and a hash tag, TTLs are set, and a Redis error
becomes a Lua error naming the unit and the key."""

from __future__ import annotations

import math

import orjson
import pytest

from tests.library import streams

STATISTICS = """
local var = UNITS.Var{name = "bytes", ttl = 3600}
local mean = UNITS.Mean{name = "mean"}
local count = UNITS.Count{name = "count"}
local ew = UNITS.EWMean{name = "ew", alpha = 0.1}
local ewv = UNITS.EWVar{name = "ewv", alpha = 0.05}
local decayed = UNITS.Decayed{name = "decayed", half_life = 60}
local pair = UNITS.DecayedCov{name = "pair", half_life = 30}
local low, high = UNITS.Min{name = "min"}, UNITS.Max{name = "max"}
local gaps = UNITS.InterArrival{name = "gaps", min_gap = 0.5}
local function observe(e)
  local out = {i = e.i}
  local b, a = var:update(e.key, e.x)
  out.var = {b:get(), a:get(), a:mean(), a:count()}
  b, a = mean:update(e.key, e.x)
  out.mean = {b:get(), a:get()}
  b, a = count:update(e.key)
  out.count = a:get()
  b, a = ew:update(e.key, e.x)
  out.ew = a:get()
  b, a = ewv:update(e.key, e.x)
  out.ewv = a:get()
  b, a = decayed:update(e.key, e.x, e.t)
  out.decayed = {b:mean(), a:mean(), a:var(), a:weight()}
  b, a = pair:update(e.key, e.x, e.t, e.side)
  local g = a:get()
  out.pair = {g.magnitude, g.radius, g.cov, g.corr}
  b, a = low:update(e.key, e.x)
  out.min = a:get()
  b, a = high:update(e.key, e.x)
  out.max = a:get()
  b, a = gaps:update(e.key, e.t)
  out.gaps = {a:mean(), a:var(), a:regularity(), a:gaps()}
  return out
end
"""

SKETCHES = """
local cms = UNITS.CountMin{name = "cms", width = 64, depth = 4, ttl = 600}
local top = UNITS.TopK{name = "top", k = 15}
local bloom = UNITS.Bloom{name = "bloom", capacity = 500, fp_rate = 0.05}
local function observe(e)
  local out = {i = e.i}
  out.cms = cms:add(nil, e.item)
  out.top = {top:add(nil, e.item)}
  out.bloom = bloom:add(nil, e.item)
  return out
end
"""

# the shared units: one instance per key, in Redis
SHARED = """
local shared = require "mle.shared"
local UNITS = shared
{units}
function loop(msg)
  dragonfly.output_event("out", observe(msg))
end
"""

# the same analysis on local units: one unit per key in a Lua table
LOCAL = """
local stats, sketch = require "mle.stats", require "mle.sketch"
local function family(class)
  return function(opts)
    local o, by_key = {{}}, {{}}
    for k, v in pairs(opts) do if k ~= "name" and k ~= "ttl" then o[k] = v end end
    local f = {{}}
    local function unit(key)
      key = key or ""
      if by_key[key] == nil then by_key[key] = class(o) end
      return by_key[key]
    end
    function f:update(key, ...)
      local u = unit(key)
      local before = class.from_state(copy(u.state))
      u:update(...)
      return before, u
    end
    function f:add(key, ...) return unit(key):add(...) end
    function f:contains(key, ...) return unit(key):contains(...) end
    function f:top(key, ...) return unit(key):top(...) end
    return f
  end
end
function copy(t)
  local c = {{}}
  for k, v in pairs(t) do c[k] = type(v) == "table" and copy(v) or v end
  return c
end
local function class(name)
  local ok, found = pcall(function() return stats[name] end)
  return ok and found or sketch[name]
end
local UNITS = setmetatable({{}}, {{__index = function(_, name) return family(class(name)) end}})
{units}
local out = {{}}
for i, e in ipairs(data) do out[i] = observe(e) end
return out
"""


def statistic_events() -> list[dict]:
    flows = streams.flows()[:1200]
    return [{"i": i, "key": f["dest_ip"], "x": float(f["bytes_toserver"]), "t": f["start"], "side": 1 + i % 2}
            for i, f in enumerate(flows)]


def sketch_events() -> list[dict]:
    return [{"i": i, "item": item} for i, item in enumerate(streams.zipf_items(1500, seed=9))]


def run_two_workers(two_workers, source: str, events: list[dict], runtime: str, batch: int = 64) -> list[dict]:
    """Alternate batches of ``events`` between two workers; their outputs in event order."""
    first, second = two_workers(source, runtime)
    for n, start in enumerate(range(0, len(events), batch)):
        (first if n % 2 == 0 else second).push([orjson.dumps(e) for e in events[start: start + batch]])
    outputs = first.events("out") + second.events("out")
    assert not [e for e in outputs if "mle" in e], [e["mle"] for e in outputs if "mle" in e][:3]
    return sorted(outputs, key=lambda e: e["i"])


def assert_same(shared: object, local: object, path: str = "") -> None:
    """Equal, floats to 1e-12 relative."""
    if isinstance(local, float) or isinstance(shared, float):
        assert math.isclose(shared, local, rel_tol=1e-12, abs_tol=1e-300), (path, shared, local)
    elif isinstance(local, list):
        assert isinstance(shared, list) and len(shared) == len(local), (path, shared, local)
        for i, (s, v) in enumerate(zip(shared, local, strict=True)):
            assert_same(s, v, f"{path}[{i}]")
    elif isinstance(local, dict):
        assert isinstance(shared, dict) and shared.keys() == local.keys(), (path, shared, local)
        for k in local:
            assert_same(shared[k], local[k], f"{path}.{k}")
    else:
        assert shared == local, (path, shared, local)


@pytest.mark.parametrize(("units", "events"), [(STATISTICS, statistic_events), (SKETCHES, sketch_events)],
                         ids=["statistics", "sketches"])
def test_two_workers_sharing_units_answer_as_one_local_unit(two_workers, lua, runtime, units, events):
    stream = events()
    shared = run_two_workers(two_workers, SHARED.format(units=units), stream, runtime)
    local = lua(LOCAL.format(units=units), stream, runtime=runtime)
    assert len(shared) == len(local) == len(stream)
    for s, v in zip(shared, local, strict=True):
        assert_same(s, v, f"event {v['i']}")


def test_shared_top_k_and_hyperloglog_hold_what_local_ones_hold(two_workers, lua, runtime, redis_client):
    items = streams.zipf_items(3000, seed=10) + streams.names()
    source = """
        local shared = require "mle.shared"
        local top = shared.TopK{name = "top", k = 25}
        local distinct = shared.HyperLogLog{name = "distinct"}
        function loop(msg)
          top:add("all", msg.item)
          dragonfly.output_event("out", {i = msg.i, count = distinct:add("all", msg.item), top = top:top("all", 10)})
        end
    """
    outputs = run_two_workers(two_workers, source, [{"i": i, "item": x} for i, x in enumerate(items)], runtime)
    local = lua("""
        local t = require("mle.sketch").TopK{k = 25}
        for _, item in ipairs(data) do t:add(item) end
        return t:top(10)
    """, items, runtime=runtime)
    assert outputs[-1]["top"] == local
    redis_client.pfadd("reference", *items)
    assert outputs[-1]["count"] == redis_client.pfcount("reference")  # Redis's own HyperLogLog
    assert abs(outputs[-1]["count"] - len(set(items))) <= 3 * 0.0081 * len(set(items))


def test_keys_carry_the_prefix_hash_tag_and_ttl(two_workers, redis_client):
    first, _ = two_workers("""
        local shared = require "mle.shared"
        local v = shared.Var{name = "bytes", ttl = 60}
        local everyone = shared.Var{name = "bytes", tag = "common"}
        local top = shared.TopK{name = "top", k = 3, ttl = 10}
        function loop(msg)
          v:update(msg.host, msg.x)
          everyone:update(nil, msg.x)
          top:add(msg.host, "x")
          dragonfly.output_event("out", {key = v:key(msg.host), n = v:get(msg.host):count()})
        end
    """)
    first.push(['{"host": "10.0.0.1", "x": 5}', '{"host": "10.0.0.1", "x": 7}'])
    assert first.events("out")[-1] == {"key": "mle:lib:{bytes:10.0.0.1}", "n": 2}
    assert sorted(k.decode() for k in redis_client.keys("*")) == [
        "mle:common:{bytes}", "mle:lib:{bytes:10.0.0.1}", "mle:lib:{top:10.0.0.1}", "mle:lib:{top:10.0.0.1}:errors"]
    assert 0 < redis_client.pttl("mle:lib:{bytes:10.0.0.1}") <= 60_000
    assert 0 < redis_client.pttl("mle:lib:{top:10.0.0.1}:errors") <= 10_000
    assert redis_client.pttl("mle:common:{bytes}") == -1  # no ttl: kept
    assert redis_client.hgetall("mle:lib:{bytes:10.0.0.1}") == {b"n": b"2", b"mean": b"6", b"m2": b"2"}


def test_a_redis_error_names_the_unit_and_the_key(two_workers, redis_client):
    redis_client.set("mle:lib:{bytes:bad}", "not a hash")
    first, _ = two_workers("""
        local shared = require "mle.shared"
        local v = shared.Var{name = "bytes"}
        function loop(msg)
          local ok, err = pcall(v.update, v, msg.host, 1)
          dragonfly.output_event("out", {ok = ok, err = not ok and err or nil})
        end
    """)
    first.push(['{"host": "bad"}', '{"host": "good"}'])
    bad, good = first.events("out")
    assert bad["ok"] is False and "shared.Var bad: WRONGTYPE" in bad["err"]
    assert good == {"ok": True}
    assert redis_client.hget("mle:lib:{bytes:good}", "n") == b"1"


def test_bad_shared_options_are_errors_naming_them(lua, functions):
    got = lua("""
        local shared = require "mle.shared"
        local problems = {}
        for i, opts in ipairs{ {}, {name = "x", ttl = -1}, {name = "x", alpha = 2}, {name = "x", nmae = 1} } do
          local ok, err = pcall(shared.EWMean, opts)
          problems[i] = err
        end
        return problems
    """)
    assert 'option "name" must be a non-empty string' in got[0]
    assert 'option "ttl" must be a number in [0' in got[1]
    assert 'option "alpha" must be a number in (0, 1]' in got[2]
    assert 'unknown option "nmae" (options: alpha, name, tag, ttl)' in got[3]
