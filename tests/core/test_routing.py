"""Routing by event type: analyzers that declare what they want run without a config
entry (dropped into analyzers/), each event visits the ones that want its event_type
in order, then every output."""

from __future__ import annotations

import pytest

from mle.errors import ScriptLoadError
from tests.conftest import REPO

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "route.lua" } }
outputs = { { tag = "out", uri = "file://out.json" }, { tag = "copy", uri = "file://copy.json" } }
"""
ROUTE = "function loop(msg) mle.route(msg) end"


def visits(name: str, event_types: str, order: int | None = None, body: str = "") -> str:
    order_text = f", order = {order}" if order is not None else ""
    return f"""
analyzer = {{ event_types = {event_types}{order_text} }}
function loop(msg)
  {body}
  local seen = msg.seen or {{}}
  seen[#seen + 1] = "{name}"
  msg.seen = seen
end
"""


def test_each_event_visits_the_analyzers_that_want_its_type_in_order(make_root, harness):
    root = make_root(CONFIG, inputs={"route.lua": ROUTE}, analyzers={
        "dns-first.lua": visits("dns-first", '{ "dns" }', order=10),
        "everything.lua": visits("everything", '"*"', order=20),
        "dns-and-tls.lua": visits("dns-and-tls", '{ "dns", "tls" }'),  # order 50 by default
        "last.lua": visits("last", '"*"', order=90),
        "helpers.lua": "function helper() end",  # no declaration: a module, not an analyzer
    })
    h = harness(root)
    h.push(['{"event_type":"dns"}', '{"event_type":"tls"}', '{"event_type":"flow"}', '{"no_type":1}'])
    # (outputs come in the order events finish: within a flow that is arrival order)
    assert {e.get("event_type", "-"): e["seen"] for e in h.events("out")} == {
        "dns": ["dns-first", "everything", "dns-and-tls", "last"],
        "tls": ["everything", "dns-and-tls", "last"],
        "flow": ["everything", "last"],
        "-": ["everything", "last"],
    }
    assert h.events("copy") == h.events("out")  # a route ends in every output
    assert {row["tag"] for row in h.worker.script_stats()} >= {"dns-first", "everything", "dns-and-tls", "last"}


def counts(name: str, order: int, redis: bool = False) -> str:
    """A routed analyzer that numbers the events it sees and appends its name to msg.seen
    (with ``redis``, it also counts them in Redis with a read-modify-write, so it runs in
    a coroutine, and the count is right only if the events of a flow run one at a time)."""
    connect = "local c = assert(hiredis.connect())" if redis else ""
    incr = (f'local v = (tonumber(c:command("GET", "{name}")) or 0) + 1\n'
            f'  c:command("SET", "{name}", v)\n  msg["{name}_redis"] = v') if redis else ""
    return f"""
analyzer = {{ event_types = "*", order = {order} }}
{connect}
local n = 0
function loop(msg)
  n = n + 1
  msg["{name}"] = n
  {incr}
  local seen = msg.seen or {{}}
  seen[#seen + 1] = "{name}"
  msg.seen = seen
end
"""


def test_a_long_route_through_plain_and_redis_analyzers_keeps_every_analyzer_in_arrival_order(
        make_root, harness):
    # 14 analyzers, the sixth talking to Redis: an event goes from one plain analyzer to
    # the next as a nested call (at most 8 deep, then through the queue) and waits for its
    # Redis replies in between; each analyzer must still see the events in arrival order,
    # and the events of one flow must run one at a time, whole route
    names = [f"a{i:02d}" for i in range(14)]
    analyzers = {f"{name}.lua": counts(name, 10 + i, redis=(i == 5)) for i, name in enumerate(names)}
    root = make_root(CONFIG, inputs={"route.lua": ROUTE}, analyzers=analyzers)
    h = harness(root)
    h.push([f'{{"event_type":"dns","flow_id":7,"i":{i}}}' for i in range(1, 301)])
    out = sorted(h.events("out"), key=lambda e: e["i"])
    assert [e["i"] for e in out] == list(range(1, 301))
    for event in out:
        assert event["seen"] == names
        assert all(event[name] == event["i"] for name in names)
        assert event["a05_redis"] == event["i"]


def test_an_input_script_may_name_the_route_it_sends_an_event_on(make_root, harness):
    # the type given wins over the record's; one no analyzer declared (a number too) takes "*"
    route = "function loop(msg) if msg.as ~= nil then mle.route(msg, msg.as) else mle.route(msg) end end"
    root = make_root(CONFIG, inputs={"route.lua": route}, analyzers={
        "dns-only.lua": visits("dns-only", '{ "dns" }'), "tls-only.lua": visits("tls-only", '{ "tls" }'),
        "all.lua": visits("all", '"*"', order=90)})
    h = harness(root)
    h.push(['{"event_type":"dns","i":1,"as":"tls"}', '{"event_type":"dns","i":2}',
            '{"event_type":"dns","i":3,"as":42}'])
    assert {e["i"]: e["seen"] for e in h.events("out")} == {
        1: ["tls-only", "all"], 2: ["dns-only", "all"], 3: ["all"]}


def test_a_helper_an_analyzer_calls_on_its_route_runs_before_the_next_routed_analyzer(make_root, harness):
    config = CONFIG.replace("outputs =", 'analyzers = { { tag = "geo", script = "geo.lua" } }\noutputs =')
    root = make_root(config, inputs={"route.lua": ROUTE}, analyzers={
        "geo.lua": 'function loop(msg) msg.geo = "NL" end',
        "dispatch.lua": 'analyzer = { event_types = "*", order = 10 }\n'
                        'function loop(msg) dragonfly.analyze_event("geo", msg) end',
        "user.lua": 'analyzer = { event_types = "*", order = 20 }\n'
                    'function loop(msg) msg.geo_seen = msg.geo or "none" end'})
    h = harness(root)
    h.push(['{"event_type":"dns","i":1}'])
    assert h.events("out") == [{"event_type": "dns", "i": 1, "geo": "NL", "geo_seen": "NL"}]


def test_the_shipped_filter_routes_records_whose_event_type_is_not_a_string(make_root, harness):
    root = make_root(CONFIG, inputs={"route.lua": (REPO / "inputs/suricata-filter.lua").read_text()},
                     analyzers={"all.lua": visits("all", '"*"')})
    h = harness(root)
    h.push(['{"event_type":5}', '{"event_type":["dns"]}', '{"event_type":"dns"}'])
    assert sorted(str(e["event_type"]) for e in h.events("out")) == ["5", "['dns']", "dns"]
    assert all(e["seen"] == ["all"] for e in h.events("out"))


def test_a_failing_routed_analyzer_costs_only_its_own_result(make_root, harness):
    root = make_root(CONFIG, inputs={"route.lua": ROUTE}, analyzers={
        "broken.lua": visits("broken", '"*"', order=1, body='error("no luck")'),
        "fine.lua": visits("fine", '"*"', order=2),
    })
    h = harness(root)
    h.push(['{"event_type":"dns"}'])
    (event,) = h.events("out")
    assert event["seen"] == ["fine"]
    assert event["mle"]["errors"][0]["analyzer"] == "broken"
    assert "no luck" in event["mle"]["errors"][0]["error"]


def test_a_with_findings_analyzer_takes_its_types_and_every_event_with_a_finding(make_root, harness):
    finder = visits("finder", '{ "dns" }', order=10, body='if msg.odd then mle.finding(msg, 0.9, "odd") end')
    combiner = visits("combiner", '{ "alert" }, with_findings = true', order=90)
    root = make_root(CONFIG, inputs={"route.lua": ROUTE}, analyzers={"finder.lua": finder, "combiner.lua": combiner})
    h = harness(root)
    h.push(['{"event_type":"dns","i":1}', '{"event_type":"dns","i":2,"odd":true}', '{"event_type":"alert","i":3}',
            '{"event_type":"flow","i":4}',
            '{"event_type":"flow","i":5,"mle":{"findings":[{"analyzer":"upstream","score":1,"reason":"r"}]}}'])
    assert {e["i"]: e.get("seen") for e in h.events("out")} == {
        1: ["finder"], 2: ["finder", "combiner"], 3: ["combiner"], 4: None, 5: ["combiner"],
    }
    assert {row["tag"]: row["n_in"] for row in h.worker.script_stats()}["combiner"] == 3


@pytest.mark.parametrize(("declaration", "problem"), [
    ('analyzer = { event_types = { "dns" }, with_findings = "yes" }', "analyzer.with_findings must be true or false"),
    ('analyzer = "dns"', "analyzer must be a table"),
    ("analyzer = { order = 3 }", "analyzer.event_types must be a list"),
    ('analyzer = { event_types = { "dns" }, order = "first" }', "analyzer.order must be a number"),
])
def test_a_bad_declaration_names_the_file_and_the_problem(make_root, harness, declaration, problem):
    root = make_root(CONFIG, inputs={"route.lua": ROUTE},
                     analyzers={"odd.lua": declaration + "\nfunction loop(msg) end"})
    with pytest.raises(ScriptLoadError, match=f"odd.lua: {problem}"):
        harness(root)


def test_a_config_entry_wins_over_a_dropped_in_file_of_the_same_tag(make_root, harness):
    root = make_root(CONFIG.replace("outputs =", 'analyzers = { { tag = "a", script = "b.lua" } }\noutputs ='),
                     inputs={"route.lua": ROUTE},
                     analyzers={"a.lua": visits("a-file", '"*"'), "b.lua": visits("b-file", '"*"')})
    h = harness(root)
    h.push(['{"event_type":"dns"}'])
    assert h.events("out")[0]["seen"] == ["b-file"]  # tag "a" is b.lua; a.lua is not loaded again


SETTINGS = """
analyzer = { event_types = "*" }
local cfg = mle.settings{ threshold = 0.8, window = 60, name = "x" }
function loop(msg) msg.cfg = cfg; msg.home = mle.home_net end
"""


def test_settings_override_an_analyzers_defaults(make_root, harness):
    config = CONFIG + ('analyzers = { { tag = "s", script = "s.lua", settings = { threshold = 0.95 } } }\n'
                       'mle = { home_net = { "10.1.0.0/16", "2001:db8::/32" } }\n')
    root = make_root(config, inputs={"route.lua": ROUTE}, analyzers={"s.lua": SETTINGS})
    h = harness(root)
    h.push(['{"event_type":"dns"}'])
    event = h.events("out")[0]
    assert event["cfg"] == {"threshold": 0.95, "window": 60, "name": "x"}
    assert event["home"] == ["10.1.0.0/16", "2001:db8::/32"]


@pytest.mark.parametrize(("settings", "problem"), [
    ("{ treshold = 0.95 }", '"treshold" is not a setting of s .it has: name, threshold, window.'),
    ('{ threshold = "high" }', "threshold must be a number like its default, not a string"),
])
def test_a_wrong_setting_names_the_analyzer_and_the_problem(make_root, harness, settings, problem):
    config = CONFIG + f'analyzers = {{ {{ tag = "s", script = "s.lua", settings = {settings} }} }}\n'
    root = make_root(config, inputs={"route.lua": ROUTE}, analyzers={"s.lua": SETTINGS})
    with pytest.raises(ScriptLoadError, match=problem):
        harness(root)


def test_home_net_defaults_to_private_ranges(make_root, harness):
    root = make_root(CONFIG, inputs={"route.lua": ROUTE}, analyzers={"s.lua": SETTINGS})
    h = harness(root)
    h.push(['{"event_type":"dns"}'])
    assert "192.168.0.0/16" in h.events("out")[0]["home"] and "fc00::/7" in h.events("out")[0]["home"]


PICKY = visits("picky", '"*"', order=2,
               body='if msg.event_type == "flow" and not msg.fixed then error("cannot score flow") end')


@pytest.fixture
def picky_route(make_root, harness):
    # "picky" is the second analyzer on the route (a nested call) and fails on flow
    # events that are not fixed; "last" comes after it
    def make(**overrides):
        root = make_root(CONFIG, inputs={"route.lua": ROUTE}, analyzers={
            "first.lua": visits("first", '"*"', order=1), "picky.lua": PICKY,
            "last.lua": visits("last", '"*"', order=3)})
        return harness(root, quarantine_after=2, **overrides)

    return make


def test_a_routed_analyzer_is_quarantined_for_one_event_type_and_the_others_go_on(picky_route):
    h = picky_route(quarantine_retry=600.0)
    h.push(['{"i":1,"event_type":"flow"}', '{"i":2,"event_type":"flow"}', '{"i":3,"event_type":"flow","fixed":true}',
            '{"i":4,"event_type":"dns"}'])
    out = {e["i"]: e for e in h.events("out")}
    assert [out[i]["seen"] for i in (1, 2, 3, 4)] == [["first", "last"]] * 3 + [["first", "picky", "last"]]
    assert out[3]["mle"]["errors"] == [{"analyzer": "picky", "hook": "loop",
                                        "error": "skipped: script is quarantined for flow events"}]
    stats = h.stats("picky")
    assert stats["quarantined_types"] == "flow"
    assert (stats["n_in"], stats["n_out"], stats["n_err"]) == (4, 4, 2)


def test_a_routed_analyzer_that_works_again_is_lifted_and_counts_afresh(picky_route):
    h = picky_route(quarantine_retry=0.0)  # the next flow event is a retry
    h.push(['{"i":1,"event_type":"flow"}', '{"i":2,"event_type":"flow"}', '{"i":3,"event_type":"flow","fixed":true}'])
    assert h.stats("picky")["quarantines"] == 1 and h.stats("picky")["quarantined_types"] == ""
    h.push(['{"i":4,"event_type":"flow"}', '{"i":5,"event_type":"flow","fixed":true}'])
    out = {e["i"]: e for e in h.events("out")}
    assert out[3]["seen"] == ["first", "picky", "last"] and "mle" not in out[3]  # the retry worked
    assert "cannot score flow" in out[4]["mle"]["errors"][0]["error"]  # one failure: no quarantine
    assert out[5]["seen"] == ["first", "picky", "last"]
    stats = h.stats("picky")
    assert (stats["quarantines"], stats["n_in"], stats["n_out"], stats["n_err"]) == (1, 5, 5, 3)
