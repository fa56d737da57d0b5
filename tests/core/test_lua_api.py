"""The script API: dragonfly.*, hiredis, cjson, marshal, mle.*, Lua 5.1 compatibility."""

from __future__ import annotations

import logging
import math
import time

import pytest

FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "a" } }
analyzers = {
  { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" },
  { tag = "b", script = "b.lua", default_analyzer = "", default_output = "out" },
}
outputs = { { tag = "out", uri = "file://out.json" }, { tag = "other", uri = "file://other.json" } }
"""

PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end"


def score_then_b(score: float) -> str:
    """Analyzer a: score the event, then hand it to analyzer b."""
    return f'function loop(msg) mle.score(msg, {score}); dragonfly.analyze_event("b", msg) end'


@pytest.fixture
def run(make_root, harness):
    """run(analyzer_source, lines, b=..., f=...) -> the harness after pushing lines."""

    def go(a: str, lines: list[str] | None = None, b: str = PASS, f: str = FORWARD, **overrides):
        root = make_root(CONFIG, inputs={"f.lua": f}, analyzers={"a.lua": a, "b.lua": b})
        h = harness(root, **overrides)
        h.push(lines if lines is not None else ['{"event_type":"dns"}'])
        return h

    return go


def test_globals_from_the_config_entry(run):
    h = run("""
        function loop(msg)
          msg.da = default_analyzer == nil    -- "" in config: left unset, as Dragonfly did
          msg.dout = default_output
          dragonfly.output_event(default_output, msg)
        end""")
    assert h.events("out") == [{"event_type": "dns", "da": True, "dout": "out"}]


def test_routing_by_tag_ignores_case_and_counts_unknown_tags(run, caplog):
    caplog.set_level(logging.WARNING)
    h = run("""
        function loop(msg)
          dragonfly.analyze_event("B", msg)        -- analyzer b, any case
          dragonfly.forward_event("OTHER", {copy = true})
          dragonfly.analyze_event("nowhere", msg)  -- counted and logged, not an error
          dragonfly.output_event("nowhere", msg)
        end""")
    assert h.events("out") == [{"event_type": "dns"}]
    assert h.events("other") == [{"copy": True}]
    assert h.stats("a")["n_err"] == 0
    _, unknown = h.worker.engine.script_stats()
    assert unknown == {"a:nowhere": 1, "o:nowhere": 1}
    assert 'analyzer tag "nowhere" is not configured' in caplog.text


def test_analyze_event_needs_two_arguments(run):
    h = run("function loop(msg) dragonfly.analyze_event(msg) end")
    error = h.events("out")[0]["mle"]["errors"][0]
    assert error["analyzer"] == "a" and "expects 2 arguments" in error["error"]


def test_log_and_stats_events_are_json_lines(run):
    h = run("""
        function loop(msg)
          dragonfly.log_event("plain text")
          dragonfly.log_event({seen = msg.event_type})
          dragonfly.stats_event({count = 1})
        end""")
    assert h.events("log") == ["plain text", {"seen": "dns"}]
    assert h.events("stats") == [{"count": 1}]


def test_timer_delivers_a_snapshot_to_the_analyzer(run):
    h = run(
        """
        function loop(msg)
          local t = {n = 1}
          dragonfly.timer_event("b", 0, t)
          t.n = 2  -- the timer carries the table as it was when armed
        end""",
        b="function loop(msg) msg.fired = true dragonfly.output_event(default_output, msg) end",
    )
    assert h.events("out") == []
    h._collect(h.worker.fire_timers(math.inf))
    assert h.events("out") == [{"n": 1, "fired": True}]


def test_a_second_timer_replaces_the_pending_one(run):
    h = run(
        """
        function loop(msg)
          dragonfly.timer_event("b", 60, {which = "first"})
          msg.replaced = not dragonfly.timer_event("b", 60, {which = "second"})
          dragonfly.output_event(default_output, msg)
        end""",
        b=PASS,
    )
    assert h.events("out") == [{"event_type": "dns", "replaced": True}]
    h._collect(h.worker.fire_timers(math.inf))
    assert h.events("out")[1:] == [{"which": "second"}]


@pytest.mark.parametrize(
    "text, epoch",
    [
        ("2019-04-22T13:45:09", 1555940709),
        ("2019-04-22T13:45:09.123456+0000", 1555940709),
        ("2022-02-23T19:22:24.405644+0100", 1645640544),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59", -1),
        ("not a date", None),
    ],
)
def test_date2epoch(run, text, epoch):
    h = run(f'function loop(msg) msg.e = dragonfly.date2epoch("{text}") '
            f"dragonfly.output_event(default_output, msg) end")
    assert h.events("out")[0].get("e") == epoch


def test_os_date_gives_the_current_time_however_often_it_is_called(run):
    """os.date(fmt) for "now" is answered from a per-second cache (write-to-log stamps
    every event with it): every call, the first and the cached ones, gives the time."""
    before = time.time()
    h = run("""
        function loop(msg)
          msg.stamps = {}
          for i = 1, 200 do msg.stamps[i] = os.date("!%Y-%m-%dT%TZ") end
          msg.table_year = os.date("*t").year
          msg.given = os.date("!%Y-%m-%dT%TZ", 0)  -- the cached format, for another time
          dragonfly.output_event(default_output, msg)
        end""")
    after = time.time()
    event = h.events("out")[0]
    now = {time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) for t in range(int(before), int(after) + 1)}
    assert set(event["stamps"]) <= now and len(event["stamps"]) == 200
    assert event["table_year"] == time.localtime(after).tm_year
    assert event["given"] == "1970-01-01T00:00:00Z"


def test_cjson_and_cjson_safe(run):
    h = run(r"""
        function loop(msg)
          local t = cjson.decode('{"a":[1,null,3],"b":{"c":"d"},"big":9007199254740993}')
          msg.len = #t.a
          msg.null_is_cjson_null = t.a[2] == cjson.null
          msg.c = t.b.c
          msg.big = t.big
          msg.roundtrip = cjson.decode(cjson.encode({x = {1, 2}, y = "z"}))
          msg.encoded_event = cjson_safe.decode(cjson_safe.encode(msg)).event_type
          local v, err = cjson_safe.decode("{oops")
          msg.safe = v == nil and type(err) == "string"
          msg.raises = not pcall(cjson.decode, "{oops")
          dragonfly.output_event(default_output, msg)
        end""")
    out = h.events("out")[0]
    assert out == {
        "event_type": "dns", "len": 3, "null_is_cjson_null": True, "c": "d", "big": 9007199254740993,
        "roundtrip": {"x": [1, 2], "y": "z"}, "encoded_event": "dns", "safe": True, "raises": True,
    }


def test_marshal_round_trip(run):
    h = run("""
        function loop(msg)
          local s = marshal.encode({a = 1, b = {"x", "y"}, c = 2.5})
          msg.back = marshal.decode(s)
          dragonfly.output_event(default_output, msg)
        end""")
    assert h.events("out")[0]["back"] == {"a": 1, "b": ["x", "y"], "c": 2.5}


def test_hiredis_reply_shapes(run, redis_client):
    redis_client.rpush("list", "one", "two")
    h = run("""
        local c
        function setup() c = assert(hiredis.connect()) end
        function loop(msg)
          local r = {}
          r.pong = c:command("PING") == hiredis.status.PONG
          r.ok = c:command("SET", "k", "v") == hiredis.status.OK
          r.ok_alias = hiredis.OK == hiredis.status.OK
          r.status_name = tostring(c:command("SET", "k", "v"))
          r.get = c:command("GET", "k")
          r.missing = c:command("GET", "nope") == hiredis.NIL
          r.int = c:command("INCRBY", "n", 41) + 1
          r.list = c:command("LRANGE", "list", 0, -1)
          local arr = c:command("MGET", "k", "nope")
          r.arr_nil = arr[2] == hiredis.NIL
          local e = c:command("INCR", "k")
          r.err_type = type(e) == "table" and e.type == hiredis.REPLY_ERROR
          r.err_name = e.name
          r.line = c:command_line("HINCRBY h f 5")
          r.line_pct = c:command_line("SET pct 100%%") == hiredis.status.OK
          r.pct = c:command("GET", "pct")
          local spaced = c:command("INCR spaced")  -- one argument, as lua-hiredis sent it
          r.spaced_is_error = spaced.type == hiredis.REPLY_ERROR
          r.set_get = c:command("SET", "k", "w", "GET")  -- SET ... GET returns the old value
          msg.r = r
          dragonfly.output_event(default_output, msg)
        end""")
    r = h.events("out")[0]["r"]
    assert r == {
        "pong": True, "ok": True, "ok_alias": True, "status_name": "OK", "get": "v", "missing": True,
        "int": 42, "list": ["one", "two"], "arr_nil": True, "err_type": True,
        "err_name": "ERR value is not an integer or out of range", "line": 5, "line_pct": True,
        "pct": "100%", "spaced_is_error": True, "set_get": "v",
    }
    assert redis_client.hget("h", "f") == b"5"


def test_redis_arguments_are_formatted_as_lua_does(run, redis_client):
    run("""
        local c
        function setup() c = hiredis.connect() end
        function loop(msg)
          c:command("SET", "int", 7)
          c:command("SET", "integral_float", 6 / 2)   -- "3", as LuaJIT printed it
          c:command("SET", "float", 0.5)
          c:command("SET", "bool", true)
        end""")
    assert redis_client.mget("int", "integral_float", "float", "bool") == [b"7", b"3", b"0.5", b"1"]


def test_setup_runs_once_and_loads_data_files(make_root, harness):
    root = make_root(
        CONFIG,
        inputs={"f.lua": FORWARD},
        analyzers={
            "a.lua": """
                local names = {}
                local setups = 0
                function setup()
                  setups = setups + 1
                  local f = assert(io.open("analyzers/countries.txt"))
                  for line in f:lines() do
                    local code, name = line:match("^(%a%a) (.+)$")
                    names[code] = name
                  end
                  f:close()
                end
                function loop(msg)
                  msg.country = names[msg.cc]
                  msg.setups = setups
                  local g, err = io.open("analyzers/countries.txt")   -- not in loop()
                  msg.open_in_loop = err
                  dragonfly.output_event(default_output, msg)
                end""",
            "b.lua": PASS,
        },
        files={"analyzers/countries.txt": "NL Netherlands\nDE Germany\n"},
    )
    h = harness(root)
    h.push(['{"cc":"NL"}', '{"cc":"DE"}'])
    out = h.events("out")
    assert [e["country"] for e in out] == ["Netherlands", "Germany"]
    assert {e["setups"] for e in out} == {1}
    assert "only available while a script loads and in setup()" in out[0]["open_in_loop"]


def test_what_setup_sends_reaches_the_outputs(make_root, harness):
    root = make_root(
        CONFIG,
        inputs={"f.lua": FORWARD},
        analyzers={
            "a.lua": """
                function setup() dragonfly.output_event("other", {model = "loaded"}) end
                function loop(msg) dragonfly.output_event(default_output, msg) end""",
            "b.lua": PASS,
        },
    )
    h = harness(root)
    assert h.events("other") == [{"model": "loaded"}]
    h.push(['{"n":1}'])
    assert h.events("out") == [{"n": 1}] and h.events("other") == [{"model": "loaded"}]


def test_require_resolves_inside_the_root(make_root, harness):
    root = make_root(
        CONFIG,
        inputs={"f.lua": FORWARD},
        analyzers={
            "a.lua": """
                require 'analyzers/utils'            -- Dragonfly style: path from the root
                local helpers = require 'helpers'    -- beside the script
                function loop(msg)
                  msg.checked = check_fields(msg, {"event_type"})
                  msg.double = helpers.double(21)
                  dragonfly.output_event(default_output, msg)
                end""",
            "b.lua": PASS,
            "utils.lua": "function check_fields(e, names) for _, n in ipairs(names) do "
            "if e[n] == nil then return false end end return true end",
            "helpers.lua": "return { double = function(x) return 2 * x end }",
        },
    )
    h = harness(root)
    h.push(['{"event_type":"dns"}'])
    assert h.events("out") == [{"event_type": "dns", "checked": True, "double": 42}]


def test_lua51_names_for_old_scripts(run):
    h = run("""
        function loop(msg)
          local t = {1, 2, 3}
          msg.getn = table.getn(t)
          msg.unpack = select("#", unpack(t))
          msg.pow = math.pow(2, 10)
          msg.fmt = string.format("%d items at %.1f", 2.7, 2.7)
          msg.band = bit.band(0xff00, 0x0ff0)
          msg.bor = bit.bor(1, 2, 4)
          msg.bxor = bit.bxor(5, 3)
          msg.lshift = bit.lshift(1, 31)      -- LuaJIT: signed 32-bit result
          msg.rshift = bit.rshift(-1, 28)
          msg.arshift = bit.arshift(-16, 2)
          msg.tohex = bit.tohex(255)
          msg.gfind = 0
          for _ in string.gfind("a,b,c", "%a") do msg.gfind = msg.gfind + 1 end
          msg.loadstring = loadstring("return 40 + 2")()
          dragonfly.output_event(default_output, msg)
        end""")
    out = h.events("out")[0]
    assert {k: v for k, v in out.items() if k != "event_type"} == {
        "getn": 3, "unpack": 3, "pow": 1024, "fmt": "2 items at 2.7", "band": 0x0F00, "bor": 7, "bxor": 6,
        "lshift": -2147483648, "rshift": 15, "arshift": -4, "tohex": "000000ff", "gfind": 3, "loadstring": 42,
    }


def test_events_behave_like_tables(run):
    h = run("""
        function loop(msg)
          msg.type_is_table = type(msg) == "table" and type(msg.dns.answers) == "table"
          local keys = {}
          for k in pairs(msg.dns) do keys[#keys + 1] = k end
          table.sort(keys)
          msg.keys = table.concat(keys, ",")
          msg.n = #msg.dns.answers
          local ips = {}
          for i, a in ipairs(msg.dns.answers) do ips[i] = a.rdata end
          msg.ips = ips
          msg.missing_is_nil = msg.alert == nil and msg.dns.nope == nil
          dragonfly.output_event(default_output, msg)
        end""",
        ['{"dns":{"rrname":"x.example","answers":[{"rdata":"1.2.3.4"},{"rdata":"5.6.7.8"}]}}'],
    )
    out = h.events("out")[0]
    assert out["type_is_table"] is True and out["missing_is_nil"] is True
    assert out["keys"] == "answers,rrname" and out["n"] == 2 and out["ips"] == ["1.2.3.4", "5.6.7.8"]


def test_mle_score_and_finding(run):
    h = run(
        score_then_b(0.2),
        b="""
        function loop(msg)
          mle.finding(msg, 1.7, "beacon every 2 s")   -- clamped to 1
          local t = {x = 1}
          mle.finding(t, 0.4, "a table the script built")
          dragonfly.output_event(default_output, msg)
          dragonfly.output_event(default_output, t)
        end""",
    )
    event, table = h.events("out")
    assert event["mle"] == {
        "scores": {"a": 0.2, "b": 1.0},
        "findings": [{"analyzer": "b", "score": 1.0, "reason": "beacon every 2 s"}],
        "priority": 1.0,
    }
    assert table["mle"]["findings"] == [{"analyzer": "b", "score": 0.4, "reason": "a table the script built"}]


def test_every_reader_sees_the_scores_made_before_it(run):
    """msg.mle, pairs, tostring, JSON and a reference held across later scores all show
    every score made so far (a contract for any change to how scores reach Python)."""
    h = run(
        score_then_b(0.2),
        b="""
        function loop(msg)
          mle.score(msg, 0.3)
          local keys = {}
          for k in pairs(msg) do keys[#keys + 1] = k end
          table.sort(keys)
          local seen = {
            read = msg.mle.scores.b,
            keys = table.concat(keys, ","),
            json = cjson.decode(cjson.encode({ wrapped = msg })).wrapped.mle.scores.a,
            printed = tostring(msg):find("'b': 0.3", 1, true) ~= nil,
          }
          local held = msg.mle
          mle.finding(msg, 0.9, "after the read")
          seen.held = held.priority
          local ok, err = pcall(mle.score, msg, "high")
          seen.refused = not ok and tostring(err)
          msg.seen = seen
          dragonfly.output_event(default_output, msg)
        end""",
    )
    event = h.events("out")[0]
    assert event["seen"] == {"read": 0.3, "keys": "event_type,mle", "json": 0.2, "printed": True, "held": 0.9,
                             "refused": "mle.score: the score must be a number"}
    assert event["mle"] == {
        "scores": {"a": 0.2, "b": 0.9},
        "findings": [{"analyzer": "b", "score": 0.9, "reason": "after the read"}],
        "priority": 0.9,
    }


def test_a_failing_script_keeps_its_score_and_its_error_comes_after_the_scores(run):
    h = run(score_then_b(0.5), b="function loop(msg) mle.score(msg, 0.25); error('boom') end")
    event = h.events("out")[0]  # b failed: the event went on to b's default output
    assert list(event["mle"]) == ["scores", "errors"]
    assert event["mle"]["scores"] == {"a": 0.5, "b": 0.25}
    assert "boom" in event["mle"]["errors"][0]["error"]


def test_a_timer_carries_the_records_scores(run):
    h = run("function loop(msg) mle.score(msg, 0.7); dragonfly.timer_event('b', 0, msg) end", b=PASS)
    h._collect(h.worker.fire_timers(math.inf))
    assert h.events("out")[0]["mle"] == {"scores": {"a": 0.7}}


def test_mle_set_priority_replaces_the_highest_finding_rule(run):
    h = run(
        """
        function loop(msg)
          mle.finding(msg, 1.0, "1st dns event seen on this sensor")
          dragonfly.analyze_event("b", msg)
        end""",
        b="""
        function loop(msg)
          mle.set_priority(msg, 0.1, "only event-counter (weight 0.1)")   -- lower than the finding
          local t = {x = 1}
          mle.finding(t, 0.9, "a table the script built")
          mle.set_priority(t, 0.3)                                        -- no reason: no finding
          local u = {}
          mle.set_priority(u, 2)                                          -- clamped
          dragonfly.output_event(default_output, msg)
          dragonfly.output_event(default_output, t)
          dragonfly.output_event(default_output, u)
        end""",
        lines=['{"event_type":"dns"}', '{"event_type":"flow","mle":{"scores":{"x":0.5}}}'],
    )
    event, table, fresh, second, *_ = h.events("out")
    assert event["mle"] == {
        "scores": {"a": 1.0, "b": 0.1},
        "findings": [{"analyzer": "a", "score": 1.0, "reason": "1st dns event seen on this sensor"},
                     {"analyzer": "b", "score": 0.1, "reason": "only event-counter (weight 0.1)"}],
        "priority": 0.1,
    }
    assert table["mle"]["priority"] == 0.3 and table["mle"]["scores"] == {"b": 0.3}
    assert len(table["mle"]["findings"]) == 1
    assert fresh["mle"] == {"scores": {"b": 1.0}, "priority": 1.0}
    assert second["mle"]["priority"] == 0.1 and second["mle"]["scores"]["x"] == 0.5


def test_an_event_that_arrives_annotated_keeps_its_findings_and_gets_the_new_ones(run):
    line = '{"event_type":"dns","mle":{"scores":{"up":0.9},"findings":[{"analyzer":"up","score":0.9,"reason":"r"}]}}'
    h = run("function loop(msg) mle.finding(msg, 0.5, 'mine'); dragonfly.output_event(default_output, msg) end",
            [line])
    assert h.events("out")[0]["mle"] == {
        "scores": {"up": 0.9, "a": 0.5},
        "findings": [{"analyzer": "up", "score": 0.9, "reason": "r"},
                     {"analyzer": "a", "score": 0.5, "reason": "mine"}],
        "priority": 0.5,
    }


def test_mle_set_priority_on_a_fresh_event_without_reason(run):
    h = run("function loop(msg) mle.set_priority(msg, 0.25); dragonfly.output_event(default_output, msg) end")
    assert h.events("out")[0]["mle"] == {"scores": {"a": 0.25}, "priority": 0.25}


def test_an_event_whose_mle_is_null_gets_one_annotation(run):
    h = run("function loop(msg) mle.score(msg, 0.5); dragonfly.output_event(default_output, msg) end",
            ['{"event_type":"dns","mle":null}'])
    assert h.outputs["out"] == [b'{"event_type":"dns","mle":{"scores":{"a":0.5}}}']


def test_a_score_after_the_script_replaced_its_annotation_with_a_list(run):
    h = run("""
        function loop(msg)
          mle.finding(msg, 0.5, "r")
          msg.mle = msg.mle.findings   -- the engine's own list, now where the annotation was
          mle.score(msg, 0.6)
          dragonfly.output_event(default_output, msg)
        end""")
    assert h.events("out")[0]["mle"] == {"scores": {"a": 0.6}}


FLOW = ('{"timestamp":"2024-01-01T00:00:00.000001+0000","flow_id":1234567890123456789,"event_type":"flow",'
        '"src_ip":"10.0.0.1","src_port":50000,"dest_ip":"192.0.2.1","dest_port":443,"proto":"TCP",'
        '"app_proto":"tls","flow":{"bytes_toserver":12}}')


def test_mle_fields_gives_every_script_the_records_fields_read_only(run):
    h = run(
        """
        function loop(msg)
          local f = mle.fields(msg)
          msg.seen = { f.event_type, f.timestamp, f.flow_id, f.src_ip, f.src_port, f.dest_ip, f.dest_port,
                       f.proto, f.app_proto, f.flow.bytes_toserver }
          msg.absent = f.dns == nil and f.tls == nil and f.http == nil and f.alert == nil
          msg.flow.pkts_toserver = 3       -- the objects are the record's own
          msg.live = f.flow.pkts_toserver
          local ok, err = pcall(function() f.src_ip = "192.0.2.66" end)
          msg.write = not ok and err
          rawset(f, "src_ip", "192.0.2.66")    -- stays in this script's own table
          msg.meta = getmetatable(f)
          msg.src_ip = "10.9.9.9"          -- replaced in the record: the table keeps what it read
          local t = { event_type = "x" }
          msg.own = mle.fields(t) == t     -- a table the script built is its own fields table
          dragonfly.analyze_event("b", msg)
        end""",
        [FLOW],
        b="""
        function loop(msg)
          msg.b_saw = mle.fields(msg).src_ip
          local ok, err = pcall(mle.fields, 42)
          msg.refused = not ok and err
          dragonfly.output_event(default_output, msg)
        end""",
    )
    out = h.events("out")[0]
    assert out["seen"] == ["flow", "2024-01-01T00:00:00.000001+0000", 1234567890123456789, "10.0.0.1", 50000,
                           "192.0.2.1", 443, "TCP", "tls", 12]
    assert out["live"] == 3 and out["flow"] == {"bytes_toserver": 12, "pkts_toserver": 3}
    assert "mle.fields: the table is read-only" in out["write"] and out["meta"] is False
    assert out["absent"] is True and out["own"] is True
    assert out["src_ip"] == "10.9.9.9" and out["b_saw"] == "10.0.0.1"
    assert "mle.fields: the argument must be an event" in out["refused"]


@pytest.mark.parametrize("runtime", ["lua54", "luajit"])
def test_what_a_script_does_to_its_fields_table_never_reaches_the_next_script(run, runtime):
    # a writes into its fields table with table.insert (a raw write on LuaJIT) and sends
    # the table on to b, which fails on it (the kernel's error annotation must not land
    # in a table other scripts read); b then reads the record's fields table
    h = run(
        """
        function loop(msg)
          local f = mle.fields(msg)
          msg.insert = pcall(table.insert, f, "planted")
          dragonfly.analyze_event("b", f)
          dragonfly.analyze_event("b", msg)
        end""",
        [FLOW],
        b="""
        local calls = 0
        function loop(msg)
          calls = calls + 1
          if calls == 1 then error("b fails on a's fields table") end
          local f = mle.fields(msg)
          local keys = {}
          for k in pairs(f) do keys[#keys + 1] = tostring(k) end
          msg.b_keys, msg.b_first, msg.b_mle = table.concat(keys, ","), f[1], f.mle ~= nil
          dragonfly.output_event(default_output, msg)
        end""",
        runtime=runtime,
    )
    out = next(e for e in h.events("out") if "b_keys" in e)
    assert (out["b_keys"], out.get("b_first"), out["b_mle"]) == ("", None, False)
    assert out["insert"] is (runtime == "luajit")  # refused on Lua 5.4; on LuaJIT it stayed in a's own table


def test_mle_has_findings_tells_whether_msg_mle_can_hold_findings(run):
    h = run(
        """
        function loop(msg)
          msg.before = mle.has_findings(msg)
          mle.score(msg, 0.2)
          msg.after_score = mle.has_findings(msg)
          if msg.i == 1 then mle.finding(msg, 0.9, "odd") end
          if msg.i == 2 then mle.set_priority(msg, 0.7, "decided") end
          if msg.i == 3 then mle.set_priority(msg, 0.1) end
          local t = { mle = { findings = { { analyzer = "x", score = 1, reason = "r" } } } }
          msg.own_table = mle.has_findings(t) and not mle.has_findings({})
          dragonfly.analyze_event("b", msg)
        end""",
        ['{"event_type":"dns","i":1}', '{"event_type":"dns","i":2}', '{"event_type":"dns","i":3}',
         '{"event_type":"dns","i":4,"mle":{"findings":[{"analyzer":"upstream","score":1,"reason":"r"}]}}'],
        b="""
        function loop(msg)
          msg.in_b = mle.has_findings(msg)
          dragonfly.output_event(default_output, msg)
        end""",
    )
    seen = {e["i"]: (e["before"], e["after_score"], e["in_b"], e["own_table"]) for e in h.events("out")}
    # a finding (or a priority with a reason) made here, or an annotation the record came with
    assert seen == {1: (False, False, True, True), 2: (False, False, True, True),
                    3: (False, False, False, True), 4: (True, True, True, True)}


def test_print_goes_to_the_log_with_the_script_name(run, caplog):
    caplog.set_level(logging.INFO, logger="mle.script")
    run('function loop(msg) print("hello", msg.event_type) end')
    assert "analyzer a: hello\tdns" in caplog.text


FEEDBACK_CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "a" } }
analyzers = {
  { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" },
  { tag = "b", script = "b.lua", default_analyzer = "", default_output = "out" },
}
outputs = { { tag = "out", uri = "file://out.json" } }
"""
LEARNS = """
local c
function setup() c = assert(hiredis.connect()) end
function loop(msg)
  local bad = tonumber(c:command("HGET", "verdicts", tostring(msg.src_ip))) or 0
  mle.score(msg, bad > 0 and 1 or 0)
  dragonfly.output_event(default_output, msg)
end
function feedback(fb)
  if fb.verdict == "malicious" then c:command("HINCRBY", "verdicts", fb.event.src_ip, 1) end
end
"""


def test_feedback_reaches_the_analyzers_that_learn_and_changes_the_next_score(make_root, harness):
    root = make_root(FEEDBACK_CONFIG, inputs={"f.lua": "function loop(msg) dragonfly.analyze_event('a', msg) end"},
                     analyzers={"a.lua": LEARNS, "b.lua": "function loop(msg) end"})
    h = harness(root)
    h.push(['{"src_ip":"10.0.0.9"}'])
    taken, _ = h.worker.feedback({"verdict": "malicious", "event": {"src_ip": "10.0.0.9"}})
    h.push(['{"src_ip":"10.0.0.9"}'])
    assert taken == 1  # only the analyzer that defines feedback(fb)
    assert [e["mle"]["scores"]["a"] for e in h.events("out")] == [0.0, 1.0]


def test_a_failing_feedback_hook_is_counted_and_costs_nothing_else(make_root, harness):
    root = make_root(FEEDBACK_CONFIG, inputs={"f.lua": "function loop(msg) dragonfly.analyze_event('a', msg) end"},
                     analyzers={"a.lua": "function loop(msg) dragonfly.output_event(default_output, msg) end\n"
                                         "function feedback(fb) error('cannot learn') end",
                                "b.lua": "function loop(msg) end"})
    h = harness(root)
    taken, _ = h.worker.feedback({"verdict": "benign"})
    h.push(['{"x":1}'])
    assert taken == 1
    assert h.stats("a")["n_err"] == 1
    assert h.events("out") == [{"x": 1}]


@pytest.mark.parametrize("runtime", ["lua54", "luajit"])
def test_pairs_and_ipairs_walk_event_lists_and_objects(make_root, harness, runtime):
    root = make_root(FEEDBACK_CONFIG, inputs={"f.lua": "function loop(msg) dragonfly.analyze_event('b', msg) end"},
                     analyzers={"a.lua": "function loop(msg) end", "b.lua": """
                        function loop(msg)
                          local items, keys = {}, {}
                          for i, v in ipairs(msg.list) do items[#items + 1] = i .. "=" .. v end
                          for k in pairs(msg.obj) do keys[#keys + 1] = k end
                          table.sort(keys)
                          msg.seen = table.concat(items, ",") .. ";" .. table.concat(keys, ",")
                          dragonfly.output_event(default_output, msg)
                        end"""})
    h = harness(root, runtime=runtime)
    h.push(['{"list":["a","b","c"],"obj":{"y":1,"x":2}}'])
    assert h.events("out")[0]["seen"] == "1=a,2=b,3=c;x,y"
