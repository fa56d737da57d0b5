"""The contract every unit of the ``mle`` Lua library keeps, checked on every unit
found under mle/lua/lib/<topic>/ (util/ holds helpers, shared/ the Redis-backed
variants, not units), on both runtimes:

- the module returns its class, callable with one options table (``Class{...}``),
  with ``new``, ``from_state``, a ``name``, its ``options`` and a ``kind`` (or its
  topic's default kind) whose verbs every instance has;
- its state is a plain table (numbers, strings, booleans, plain tables: no functions,
  no metatables), and ``Class.from_state(copy of state)`` gives a unit that goes on
  exactly as the original;
- an unknown option, and a bad value for each of its options, is an error naming it;
- docs/library.md documents it.

A unit that needs options to be built declares them as ``Class.test_options``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO

LIBRARY = REPO / "mle" / "lua" / "lib"
HELPERS = {"util", "shared"}  # shared/: the Redis-backed variants (tests/library/test_shared*.py)


def discover() -> list[str]:
    return sorted(f"mle.{path.parent.name}.{path.stem}" for path in LIBRARY.glob("*/*.lua")
                  if path.parent.name not in HELPERS)


UNITS = discover()

CHECK = """
local module, topic = data.module, data.topic
local problems = {}
local function problem(text) problems[#problems + 1] = text end

-- what each kind of unit must answer to, how to feed it and what to compare after a round trip
local KINDS = {
  statistic = { "update", "get" }, sketch = { "add" }, drift = { "update" }, metric = { "update", "get" },
  evaluator = { "score_learn", "get" }, anomaly = { "learn_one", "score_one", "score_learn" },
  classifier = { "learn_one", "predict_proba_one", "predict_one", "score_learn" },
  model = { "predict_proba_one", "predict_one" }, transformer = { "transform_one" },
}
local DEFAULT_KIND = { stats = "statistic", sketch = "sketch", drift = "drift", metrics = "metric",
                       anomaly = "anomaly", models = "classifier" }

local function x(i) return ((i * 7919) % 1000) / 10 + (i % 5) end
local function features(i) return { a = ((i * 37) % 100) / 100, b = ((i * 61) % 100) / 100 } end

-- a classifier for the evaluators: the share of positives so far
local function test_model()
  local m = { n = 0, positives = 0 }
  function m:predict_proba_one() return self.n > 0 and self.positives / self.n or 0.5 end
  function m:learn_one(_, y)
    self.n = self.n + 1
    if y then self.positives = self.positives + 1 end
  end
  return m
end

local function feed(u, kind, input, from, to)
  for i = from, to do
    if kind == "statistic" then
      if input == "string" then u:update("c" .. i % 7)
      elseif input == "timed" then u:update(x(i), 1000 + i * 0.5)
      elseif input == "timed2" then u:update(x(i), 1000 + i * 0.5, 1 + i % 2)
      else u:update(x(i)) end
    elseif kind == "sketch" then u:add("item" .. (i * 7) % 23)
    elseif kind == "drift" then u:update(i < 40 and x(i) or x(i) + 100)
    elseif kind == "metric" then
      if input == "label" then u:update(i % 3 == 0, i % 2 == 0) else u:update(i % 3 == 0, (i % 10) / 10) end
    elseif kind == "evaluator" or kind == "classifier" then u:score_learn(features(i), i % 3 == 0)
    elseif kind == "anomaly" then
      if input == "number" then u:score_learn(x(i))
      elseif input == "string" then u:score_learn("v" .. i % 7)
      else u:score_learn(features(i)) end
    elseif kind == "model" then u:predict_proba_one(features(i))
    elseif kind == "transformer" then u:transform_one(input == "string" and ("text" .. i) or features(i))
    end
  end
end

local function read(u, kind, input)
  if kind == "statistic" or kind == "metric" or kind == "evaluator" then return u:get() end
  if kind == "drift" then return u.drift_detected end
  if kind == "anomaly" then
    if input == "number" then return u:score_one(x(999)) end
    if input == "string" then return u:score_one("v3") end
    return u:score_one(features(999))
  end
  if kind == "classifier" or kind == "model" then return u:predict_proba_one(features(999)) end
  if kind == "transformer" then return u:transform_one(input == "string" and "text999" or features(999)) end
  return nil
end

local function plain(v, path)
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return end
  if t ~= "table" then return problem(path .. " is a " .. t .. " (state must be plain data)") end
  if getmetatable(v) ~= nil then return problem(path .. " has a metatable (state must be plain data)") end
  for k, item in pairs(v) do
    if type(k) ~= "string" and type(k) ~= "number" then problem(path .. " has a " .. type(k) .. " key") end
    plain(item, path .. "." .. tostring(k))
  end
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, item in pairs(v) do c[k] = copy(item) end
  return c
end

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return a == b or (a ~= a and b ~= b) end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local ok, Class = pcall(require, module)
if not ok then return { "cannot load: " .. tostring(Class) } end
if type(Class) ~= "table" then return { "the module must return its class (a table), not a " .. type(Class) } end
for _, field in ipairs{ "new", "from_state" } do
  if type(Class[field]) ~= "function" then problem("Class." .. field .. " must be a function") end
end
if type(Class.name) ~= "string" then problem("Class.name must be a string") end
if type(Class.options) ~= "table" then problem("Class.options must be a table of option specs") end
local kind = Class.kind or DEFAULT_KIND[topic]
if KINDS[kind] == nil then return { "unknown kind " .. tostring(kind) .. " (see docs/library.md)" } end
if #problems > 0 then return problems end

local options = copy(Class.test_options or {})
local model_a, model_b
if kind == "evaluator" then
  model_a, model_b = test_model(), test_model()
  options.model = model_a
end
local built, u = pcall(Class, options)
if not built then return { "Class(options) failed: " .. tostring(u) } end
for _, verb in ipairs(KINDS[kind]) do
  if type(u[verb]) ~= "function" then problem("a " .. kind .. " must have :" .. verb .. "()") end
end
if #problems > 0 then return problems end

local fed, err = pcall(feed, u, kind, Class.input, 1, 40)
if not fed then return { "feeding it failed: " .. tostring(err) } end
if type(u.state) ~= "table" then return { "u.state must be a table" } end
plain(u.state, "state")
if kind == "drift" and type(u.drift_detected) ~= "boolean" then problem("d.drift_detected must be a boolean") end

local state = copy(u.state)
local v
if kind == "evaluator" then
  for key, value in pairs(model_a) do model_b[key] = value end
  v = Class.from_state(state, model_b)
else
  v = Class.from_state(state)
end
local went_on, why = pcall(function()
  feed(u, kind, Class.input, 41, 80)
  feed(v, kind, Class.input, 41, 80)
end)
if not went_on then
  problem("feeding after from_state failed: " .. tostring(why))
elseif not same(u.state, v.state) or not same(read(u, kind, Class.input), read(v, kind, Class.input)) then
  problem("Class.from_state(state) does not go on as the original")
end

local bad = copy(Class.test_options or {})
bad.model = options.model
bad.no_such_option = 1
local refused, message = pcall(Class, bad)
if refused or not tostring(message):find("no_such_option", 1, true) then
  problem("an unknown option must be an error naming it, got " .. tostring(message))
end
local names = {}
for name in pairs(Class.options) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local wrong = copy(Class.test_options or {})
  wrong.model = options.model
  wrong[name] = function() end
  local accepted, complaint = pcall(Class, wrong)
  if accepted or not tostring(complaint):find('"' .. name .. '"', 1, true) then
    problem("a bad value for option " .. name .. " must be an error naming it, got " .. tostring(complaint))
  end
end
return { problems = problems, name = Class.name }
"""


@pytest.mark.parametrize("module", UNITS)
def test_unit_keeps_the_library_contract(lua, runtime, module):
    result = lua(CHECK, {"module": module, "topic": module.split(".")[1]}, runtime=runtime)
    problems = result.get("problems") if isinstance(result, dict) else result
    assert not problems, f"{module}: {problems}"


def test_every_unit_is_documented(lua):
    names = lua("""
        local names = {}
        for i, module in ipairs(data) do names[i] = require(module).name end
        return names
    """, UNITS)
    docs = (REPO / "docs" / "library.md").read_text(encoding="utf-8")
    undocumented = [name for name in names if f"`{name}" not in docs]
    assert not undocumented, f"docs/library.md does not document {undocumented}"


def test_the_units_are_found():
    assert len(UNITS) >= 25 and "mle.stats.var" in UNITS and "mle.util.unit" not in UNITS
    assert all(Path(LIBRARY, *module.split(".")[1:]).with_suffix(".lua").is_file() for module in UNITS)
