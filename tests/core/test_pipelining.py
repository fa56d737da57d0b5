"""Redis calls of a batch share round trips, yet each event gets its own reply, in order.

Semantics (README "Redis from Lua"): an event's loop() suspends at each Redis call;
the pending commands of the whole batch go out in one pipeline, in the order they
were issued, and every event resumes with its own reply. Commands issued in the
same round run in event order, so a later event's command sees an earlier event's
write. ``sequential = true`` on an analyzer makes its events run one after another
(read-modify-write patterns), still sharing round trips with other analyzers.
"""

from __future__ import annotations

import pytest

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out"%s } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""
FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"


@pytest.fixture
def pipeline(make_root, harness):
    def make(analyzer: str, extra: str = "", **settings: object):
        root = make_root(CONFIG % extra, inputs={"f.lua": FORWARD}, analyzers={"a.lua": analyzer})
        return harness(root, **settings)

    return make


def events(n: int) -> list[str]:
    return [f'{{"i":{i}}}' for i in range(1, n + 1)]


INCR_EACH = """
    local c
    function setup() c = hiredis.connect() end
    function loop(msg)
      msg.n = c:command("INCR", "counter")
      dragonfly.output_event(default_output, msg)
    end"""


@pytest.mark.parametrize(("round_size", "round_trips"), [(256, 1), (80, 3)])
def test_one_round_trip_per_round_and_replies_in_event_order(pipeline, redis_pipe, round_size, round_trips):
    h = pipeline(INCR_EACH, round_size=round_size)
    before = redis_pipe.round_trips
    h.push(events(200))  # one batch: rounds of round_size events
    out = h.events("out")
    assert [e["n"] for e in out] == list(range(1, 201))  # event i got the i-th increment
    assert [e["i"] for e in out] == list(range(1, 201))
    assert redis_pipe.round_trips - before == round_trips


def test_each_event_gets_its_own_reply(pipeline, redis_client):
    for i in range(1, 101):
        redis_client.set(f"key:{i}", f"value-{i * 7}")
    h = pipeline("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          msg.got = c:command("GET", "key:" .. msg.i)
          dragonfly.output_event(default_output, msg)
        end""")
    h.push(events(100))
    assert all(e["got"] == f"value-{e['i'] * 7}" for e in h.events("out"))
    assert len(h.events("out")) == 100


def test_a_later_event_sees_an_earlier_events_write(pipeline):
    h = pipeline("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          if msg.write then c:command("SET", "shared", msg.write) end
          if msg.read then msg.saw = c:command("GET", "shared") end
          dragonfly.output_event(default_output, msg)
        end""")
    h.push(['{"write":"first"}', '{"read":true}', '{"write":"second"}', '{"read":true}'])
    assert [e.get("saw") for e in h.events("out")] == [None, "first", None, "second"]


def test_commands_that_depend_on_replies_take_one_round_per_step(pipeline, redis_pipe):
    h = pipeline("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          local n = c:command("INCR", "k:" .. msg.i)          -- round 1 for every event
          msg.doubled = c:command("INCRBY", "k:" .. msg.i, n)  -- round 2 uses this event's reply
          dragonfly.output_event(default_output, msg)
        end""")
    before = redis_pipe.round_trips
    h.push(events(50))
    assert [e["doubled"] for e in h.events("out")] == [2] * 50
    assert redis_pipe.round_trips - before == 2


def test_sequential_analyzer_gets_blocking_call_semantics(pipeline):
    read_modify_write = """
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          local v = c:command("GET", "rmw")
          if v == hiredis.NIL then v = 0 end
          c:command("SET", "rmw", tonumber(v) + 1)
          msg.after = tonumber(v) + 1
          dragonfly.output_event(default_output, msg)
        end"""
    h = pipeline(read_modify_write, extra=", sequential = true")
    h.push(events(30))
    assert [e["after"] for e in h.events("out")] == list(range(1, 31))


def test_an_error_reply_reaches_only_its_event(pipeline, redis_client):
    redis_client.hset("a-hash", "f", "1")
    h = pipeline("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          local r = c:command("INCR", msg.key)
          msg.result = type(r) == "table" and r.name or r
          dragonfly.output_event(default_output, msg)
        end""")
    h.push(['{"key":"n"}', '{"key":"a-hash"}', '{"key":"n"}'])
    assert [e["result"] for e in h.events("out")] == [
        1, "WRONGTYPE Operation against a key holding the wrong kind of value", 2,
    ]


def test_redis_calls_inside_a_scripts_own_coroutine(pipeline):
    h = pipeline("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          local gen = coroutine.wrap(function()
            coroutine.yield(c:command("INCR", "gen"))
            coroutine.yield(c:command("INCR", "gen"))
          end)
          msg.a, msg.b = gen(), gen()
          dragonfly.output_event(default_output, msg)
        end""")
    h.push(events(3))
    assert [(e["a"], e["b"]) for e in h.events("out")] == [(1, 4), (2, 5), (3, 6)]


def test_bad_redis_argument_fails_only_that_event(pipeline):
    h = pipeline("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          local arg = msg.bad and {} or "ok"
          msg.r = c:command("SET", "x", arg)
          dragonfly.output_event(default_output, msg)
        end""")
    h.push(['{"n":1}', '{"bad":true}', '{"n":3}'])
    out = sorted(h.events("out"), key=lambda e: e.get("n", 2))  # a failed event leaves before those waiting
    assert [e.get("n") for e in out] == [1, None, 3]
    assert [e["r"]["name"] for e in (out[0], out[2])] == ["OK", "OK"]  # status replies are const tables
    assert "must be a string or number, got table" in out[1]["mle"]["errors"][0]["error"]
