"""Which scripts may let their events run ahead (one Redis command per event, proven
from the source): mle/lua/analysis.py says yes only when nothing can observe it."""

from __future__ import annotations

import pytest

from mle.lua.analysis import runs_ahead_safely

SETUP = "function setup() conn = hiredis.connect() end\n"


def loop(body: str, before: str = "") -> str:
    return before + SETUP + "function loop(msg)\n" + body + "\nend\n"


SAFE = {
    "dragonfly hello-world": loop("""
        local reply = conn:command_line("INCR count:" .. msg.event_type)
        msg.event_count = reply
        dragonfly.analyze_event(default_analyzer, msg)"""),
    "library calls, early return, a score": loop("""
        if msg.event_type ~= "dns" then return end
        local key = string.format("dns:%s", tostring(msg.dns and msg.dns.rrname))
        local n = conn:command("INCR", key)
        msg.n = tonumber(n)
        mle.score(msg, n / 100)
        dragonfly.output_event(default_output, msg)"""),
    "a global written and read only after the call": loop("""
        local n = conn:command("INCR", "n")
        last = n
        msg.last = last"""),
}

UNSAFE = {
    "two commands": (loop('conn:command("PFADD", "h", msg.src_ip)\nmsg.c = conn:command("PFCOUNT", "h")'),
                     "not exactly one Redis call site"),
    "a command in a loop": (loop('for i = 1, 3 do msg.n = conn:command("INCR", "n") end'), "inside a loop"),
    "require": ("require 'analyzer/utils'\n" + loop('msg.n = conn:command("INCR", "n")'), "uses require"),
    "a cache filled after the reply": (loop("""
        if cache[msg.k] then msg.v = cache[msg.k] return end
        local v = conn:command("GET", msg.k)
        cache[msg.k] = v""", before="local cache = {}\n"), "changes cache"),
    "state read before, written after": (loop("""
        msg.prev = last
        local n = conn:command("INCR", "n")
        last = n"""), "changes last"),
    "outputs on both sides": (loop("""
        dragonfly.log_event("before")
        local n = conn:command("INCR", "n")
        dragonfly.output_event(default_output, msg)"""), "changes <outputs>"),
    "an alias of shared state": (loop("""
        local s = state
        msg.before = s.last
        local n = conn:command("INCR", "n")
        s.last = n""", before="local state = {}\n"), "changes state"),
    "table.insert into shared state": (loop("""
        msg.k = #seen
        local n = conn:command("INCR", "n")
        table.insert(seen, n)""", before="local seen = {}\n"), "changes seen"),
    "the script's own function": (loop('local n = conn:command("INCR", "n")\nmsg.x = f(n)',
                                       before="function f(x) return x end\n"), "own function f"),
    "a function passed to a library call": (loop('local n = conn:command("INCR", "n")\nmsg.x = pcall(f, n)',
                                                 before="local function f(x) return x end\n"), "own function f"),
    "a method of a shared object": (loop('local n = conn:command("INCR", "n")\nmodel:learn(n)'), "calls model"),
    "the command reached by a string": (loop('msg.n = conn["command"](conn, "INCR", "n")'),
                                        "not a plain conn:command"),
}


@pytest.mark.parametrize("name", SAFE)
def test_runs_ahead(name):
    verdict = runs_ahead_safely(SAFE[name])
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize("name", UNSAFE)
def test_runs_one_at_a_time(name):
    source, reason = UNSAFE[name]
    verdict = runs_ahead_safely(source)
    assert not verdict.ok
    assert reason in verdict.reason
