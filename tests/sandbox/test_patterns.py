"""Bounded pattern matching (mle/lua/patterns.lua): a pattern that could backtrack for
long runs in a Lua matcher the instruction budget counts; it gives the C matcher's
results, errors included, on Lua 5.4 and LuaJIT; ordinary calls stay in C."""

from __future__ import annotations

import importlib
import random

import orjson
import pytest

from mle.lua.runtime import _lua_source
from tests.conftest import run_mle, summary_rows

RUNTIMES = {"lua54": "lupa.lua54", "luajit": "lupa.luajit21"}

# C and Lua on the same arguments, every function, results or errors compared
COMPARE = r"""
local P, cases = ...
local c_find, c_match, c_gmatch, c_gsub = string.find, string.match, string.gmatch, string.gsub
local LUA51 = _VERSION == "Lua 5.1"
local function pack(...) return { n = select("#", ...), ... } end
local function show(t) local o = {} for i = 1, t.n do o[i] = tostring(t[i]) end return table.concat(o, ",") end
local function start(init, n) -- the start position the C functions compute (false: none)
  if init == nil then return 1 end
  if LUA51 then
    if init < 0 then init = n + init + 1 end
    if init < 1 then return 1 elseif init > n + 1 then return n + 1 end
    return init
  end
  if init > 0 then return init <= n + 1 and init end
  if init == 0 or init < -n then return 1 end
  return n + init + 1
end
local function iterate(iterator)
  local out = {}
  local ok, err = pcall(function()
    for a, b, c in iterator do
      out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
      if #out > 100 then break end
    end
  end)
  return pack(ok, ok and table.concat(out, ";") or err)
end
local function fn(a, b)
  if a == "a" then return nil elseif a == "b" then return false end
  return "<" .. tostring(a) .. tostring(b) .. ">"
end
local REPLACEMENTS = { "[%0:%1]", "%%-%2", "z%", "%a", 5, fn, { a = "A", b = 7, c = false } }
local bad = {}
local function check(what, c, l, s, p)
  local differ = c.n ~= l.n
  for i = 1, c.n do differ = differ or c[i] ~= l[i] end
  if differ then bad[#bad + 1] = string.format("%s %q %q C=%s Lua=%s", what, s, p, show(c), show(l)) end
end
local NONE = pack(true, nil)
for i = 1, #cases do
  local s, p, init = cases[i][1], cases[i][2], cases[i][3]
  local at = start(init, #s)
  local text = LUA51 and p:match("^[^%z]*") or p -- 5.1 ends a pattern at a zero byte
  if text:find("[%^%$%*%+%?%.%(%[%%%-]") then -- without specials, find searches plainly (never in Lua)
    check("find", pack(pcall(c_find, s, p, init)), at and pack(pcall(P.lua_find, s, p, at, true)) or NONE, s, p)
  end
  check("match", pack(pcall(c_match, s, p, init)), at and pack(pcall(P.lua_find, s, p, at, false)) or NONE, s, p)
  local from = LUA51 and 1 or (init and (start(init, #s) or #s + 2) or 1)
  check("gmatch", iterate(c_gmatch(s, p, (not LUA51) and init or nil)), iterate(P.lua_gmatch(s, p, from)), s, p)
  for _, repl in ipairs(REPLACEMENTS) do
    for _, most in ipairs({ false, 1, 0 }) do
      local n = most or nil
      check("gsub", pack(pcall(c_gsub, s, p, repl, n)), pack(pcall(P.lua_gsub, s, p, repl, n)), s, p)
    end
  end
end
return table.concat(bad, "\n", 1, math.min(#bad, 20)), #bad
"""

ATOMS = ["a", "b", ".", "%a", "%d", "%s", "%w", "%p", "%u", "%l", "%x", "%c", "%g", "%A", "%.", "%%", "[ab]", "[^a]",
         "[a-c]", "[%d_]", "[]]", "[^]a]", "%bab", "%b()", "%f[%a]", "%f[%A]", "(", ")", "()", "%1", "%2", "%0", "$",
         "^", "-", "x", "[", "%", "%b", "%f", "]", "\0", "é"]
SUFFIXES = ["", "", "", "*", "+", "-", "?"]
SUBJECTS = ["", "a", "ab", "aab", "abba", "abc123", " hello world ", "aaaa", "a.b%c", "ab]ba", "12ab34", "xyxy", "a\0b",
            "(a(b)c)", "key=value; k2=v2"]


def cases(seed: int, n: int) -> list[tuple[str, str, int | None]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        pattern = "".join(rnd.choice(ATOMS) + rnd.choice(SUFFIXES) for _ in range(rnd.randint(1, 8)))
        if rnd.random() < 0.2:
            pattern = "^" + pattern
        subject = rnd.choice(SUBJECTS) if rnd.random() < 0.6 else \
            "".join(rnd.choice("ab1 .%()[]x=") for _ in range(rnd.randint(0, 16)))
        out.append((subject, pattern, rnd.choice([None, None, None, 1, 2, 0, -1, -3, 5, 100])))
    return out


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_the_lua_matcher_gives_the_c_matchers_results_and_errors(runtime):
    lua = importlib.import_module(RUNTIMES[runtime]).LuaRuntime(unpack_returned_tuples=True)
    patterns = lua.execute(_lua_source("patterns.lua"))
    compare = lua.eval("function(...) " + COMPARE + " end")
    table = lua.table_from([lua.table_from({1: s, 2: p, **({3: i} if i is not None else {})})
                            for s, p, i in cases(seed=13, n=2500)])
    report, mismatches = compare(patterns, table)
    assert mismatches == 0, report


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_patterns_are_bounded_and_ordinary_ones_stay_in_c(sandbox, runtime):
    p = sandbox("""
        local LONG = string.rep("a", 40000)
        local TEXT = string.rep("GET /index.html HTTP/1.1  \\t", 40000)
        function attack(msg)
          if msg.catastrophic then return LONG:find(".-.-.-.-b") end
          -- linear work on a 1 MB subject: in C, nothing of it counts against the 100k budget
          local spaces = select(2, TEXT:gsub("%s+", " "))
          local requests = select(2, TEXT:gsub("GET /(%w+)", "%1"))
          msg.counts = { spaces, requests, #TEXT:match("^(%u+)"), (TEXT:find("HTTP", 1, true)) }
        end
    """, runtime=runtime)
    p.assert_contained(p.attack({"catastrophic": True}), "instruction budget exceeded")
    p.probe()
    assert p.attack()["counts"] == [120000, 40000, 3, 17]
    p.probe()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_an_error_of_the_lua_matcher_names_the_scripts_line_as_c_does(sandbox, runtime):
    p = sandbox("""
        function attack(msg)
          local subject = string.rep("a", msg.n)
          local replaced = subject:gsub("a-a-b?", "%9")
        end
    """, runtime=runtime, budget=10_000_000)
    short = p.assert_contained(p.attack({"n": 10}), "invalid capture index")  # C
    long = p.assert_contained(p.attack({"n": 5000}), "invalid capture index", n_err=2)  # the Lua matcher
    assert short == long and short.startswith("analyzers/a.lua:3: ")


EVIL = """
function loop(msg)
  if msg.evil then msg.found = string.find(string.rep("a", 40000), ".-.-.-.-b") end
  msg.scored = true
  dragonfly.analyze_event(default_analyzer, msg)
end"""
NEXT = "function loop(msg) msg.next_ran = true dragonfly.output_event(default_output, msg) end"
CHAIN = """
inputs = {{ {{ tag = "eve", uri = "file://{eve}", default_analyzer = "evil" }} }}
analyzers = {{
  {{ tag = "evil", script = "evil.lua", default_analyzer = "next" }},
  {{ tag = "next", script = "next.lua", default_output = "out" }},
}}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
mle = {{ worker_timeout = 5, runtime = "{runtime}" }}
"""


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_a_catastrophic_pattern_costs_its_script_the_event_not_the_worker(make_root, tmp_path, runtime):
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"flow_id":1,"i":1}\n{"flow_id":1,"i":2,"evil":true}\n{"flow_id":1,"i":3}\n')
    root = make_root(CHAIN.format(eve=eve, runtime=runtime), analyzers={"evil.lua": EVIL, "next.lua": NEXT})
    result = run_mle("replay", "-r", str(root), "--workers", "1")
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "worker restarts" not in err and not (root / "var/log/dead-letter.jsonl").exists()
    out = {e["i"]: e for e in map(orjson.loads, (root / "var/log/out.json").read_bytes().splitlines())}
    assert sorted(out) == [1, 2, 3] and all(e["next_ran"] for e in out.values())  # on down the chain
    assert "scored" not in out[2] and out[1]["scored"] and out[3]["scored"]  # its result is lost
    assert out[2]["mle"]["errors"] == [{"analyzer": "evil", "hook": "loop", "error": "instruction budget exceeded"}]
    assert summary_rows(err)["evil"]["errors"] == 1
