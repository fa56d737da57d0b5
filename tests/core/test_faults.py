"""A failing script costs only its own result: the event goes on, annotated; the
error is counted and logged; a script that keeps failing is quarantined."""

from __future__ import annotations

import logging
import time

import orjson
import pytest

from mle.errors import ScriptLoadError

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "flaky" } }
analyzers = {
  { tag = "flaky", script = "flaky.lua", default_analyzer = "next", default_output = ""%s },
  { tag = "next", script = "next.lua", default_analyzer = "", default_output = "out" },
}
outputs = { { tag = "out", uri = "file://out.json" } }
"""
FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"
NEXT = "function loop(msg) msg.reached_next = true dragonfly.output_event(default_output, msg) end"
FLAKY = """
function loop(msg)
  if msg.fail then error("cannot score " .. msg.fail) end
  if msg.spin then while true do end end
  if msg.exit then os.exit(1) end
  msg.scored = true
  dragonfly.analyze_event(default_analyzer, msg)
end"""


@pytest.fixture
def chain(make_root, harness):
    def make(flaky: str = FLAKY, extra: str = "", **overrides):
        root = make_root(CONFIG % extra, inputs={"f.lua": FORWARD}, analyzers={"flaky.lua": flaky, "next.lua": NEXT})
        return harness(root, **overrides)

    return make


def test_a_failed_event_continues_annotated(chain, caplog):
    caplog.set_level(logging.ERROR)
    h = chain(max_instructions=200_000)
    h.push(['{"i":1}', '{"i":2,"fail":"dns"}', '{"i":3,"spin":true}', '{"i":4,"exit":true}', '{"i":5}'])
    out = {e["i"]: e for e in h.events("out")}
    assert sorted(out) == [1, 2, 3, 4, 5]  # every event reached the output
    assert all(e["reached_next"] for e in out.values())
    assert out[1]["scored"] and out[5]["scored"] and "mle" not in out[1]
    errors = {i: out[i]["mle"]["errors"] for i in (2, 3, 4)}
    assert errors[2] == [{"analyzer": "flaky", "hook": "loop", "error": "analyzers/flaky.lua:2: cannot score dns"}]
    assert errors[3][0]["error"] == "instruction budget exceeded"
    assert "os.exit is not allowed" in errors[4][0]["error"]
    assert h.stats("flaky")["n_err"] == 3 and h.stats("next")["n_err"] == 0
    assert "analyzer flaky: loop: analyzers/flaky.lua:2: cannot score dns" in caplog.text


def test_repeated_failures_quarantine_the_script(chain, caplog):
    caplog.set_level(logging.ERROR)
    h = chain(extra=", quarantine_after = 3")
    h.push(['{"i":1,"fail":"x"}', '{"i":2,"fail":"x"}', '{"i":3}', '{"i":4,"fail":"x"}'])
    assert not h.stats("flaky")["quarantined"]  # a success in between resets the count
    h.push(['{"i":5,"fail":"x"}', '{"i":6,"fail":"x"}', '{"i":7}', '{"i":8}'])
    stats = h.stats("flaky")
    assert stats["quarantined"]
    # events 7 and 8 passed the quarantined script without running it: counted in and out
    assert (stats["n_in"], stats["n_out"], stats["n_drop"], stats["n_err"]) == (8, 8, 0, 5)
    out = {e["i"]: e for e in h.events("out")}
    assert sorted(out) == list(range(1, 9))
    assert out[7]["mle"]["errors"] == [{"analyzer": "flaky", "hook": "loop", "error": "skipped: script is quarantined"}]
    assert "quarantined for events without an event_type after 3 consecutive failures" in caplog.text


TYPED = """
function loop(msg)
  if msg.event_type ~= "dns" and not msg.fixed then error("cannot score " .. msg.event_type) end
  msg.scored = true
  dragonfly.analyze_event(default_analyzer, msg)
end"""


def typed(i: int, event_type: str, **extra: object) -> str:
    return orjson.dumps({"i": i, "event_type": event_type, **extra}).decode()


def test_quarantine_is_per_event_type_and_the_other_types_go_on(chain, caplog):
    caplog.set_level(logging.ERROR)
    h = chain(flaky=TYPED, extra=", quarantine_after = 3")
    h.push([typed(i, "flow") for i in range(1, 4)] + [typed(4, "dns"), typed(5, "flow"), typed(6, "dns")])
    out = {e["i"]: e for e in h.events("out")}
    assert out[4]["scored"] and out[6]["scored"]  # dns is still scored
    assert out[5]["mle"]["errors"][0]["error"] == "skipped: script is quarantined for flow events"
    stats = h.stats("flaky")
    assert stats["quarantined_types"] == "flow" and stats["quarantined"] and stats["quarantines"] == 1
    assert "quarantined for flow events after 3 consecutive failures" in caplog.text


def test_a_quarantined_type_is_retried_after_a_back_off_and_lifted_when_it_works(chain, caplog):
    caplog.set_level(logging.WARNING)
    h = chain(flaky=TYPED, extra=", quarantine_after = 2", quarantine_retry=0.2)
    h.push([typed(1, "flow"), typed(2, "flow"), typed(3, "flow")])  # quarantined at 2, 3 skipped
    time.sleep(0.25)  # past the retry time (monotonic clock): the next flow event is a retry
    h.push([typed(4, "flow")])  # the retry fails: the wait doubles to 0.4 s
    h.push([typed(5, "flow", fixed=True)])  # within the doubled wait: skipped even though it would work
    assert "next retry in 0.4 s" in caplog.text
    time.sleep(0.45)
    h.push([typed(6, "flow", fixed=True), typed(7, "flow", fixed=True)])
    out = {e["i"]: e for e in h.events("out")}
    assert "skipped" in out[3]["mle"]["errors"][0]["error"]
    assert "cannot score flow" in out[4]["mle"]["errors"][0]["error"]
    assert "skipped" in out[5]["mle"]["errors"][0]["error"]
    assert out[6]["scored"] and out[7]["scored"] and "mle" not in out[7]
    assert h.stats("flaky")["quarantined_types"] == ""
    assert "quarantine for flow events lifted: a retry succeeded" in caplog.text


def test_an_input_script_failure_still_delivers_the_event(make_root, harness):
    root = make_root(
        CONFIG % "",
        inputs={"f.lua": "function loop(msg) if msg.bad then error('filter bug') end "
                         "dragonfly.analyze_event(default_analyzer, msg) end"},
        analyzers={"flaky.lua": FLAKY, "next.lua": NEXT},
    )
    h = harness(root)
    h.push(['{"bad":true}', '{"ok":true}'])
    assert len(h.events("out")) == 2
    assert h.events("out")[0]["mle"]["errors"][0]["analyzer"] == "eve"


def test_memory_ceiling_costs_only_that_event(chain):
    h = chain(
        flaky="""
        local keep = {}
        function loop(msg)
          if msg.hog then
            for i = 1, 1e9 do keep[i] = string.rep("x", 1024) .. i end
          end
          keep = {}
          dragonfly.analyze_event(default_analyzer, msg)
        end""",
        max_memory_mb=64,
    )
    h.push(['{"i":1}', '{"i":2,"hog":true}', '{"i":3}'])
    out = {e["i"]: e for e in h.events("out")}
    assert sorted(out) == [1, 2, 3]
    assert "not enough memory" in out[2]["mle"]["errors"][0]["error"]
    h.push(['{"i":4}'])  # the runtime recovered
    assert h.events("out")[-1]["i"] == 4 and "mle" not in h.events("out")[-1]


@pytest.mark.parametrize(
    "source, message",
    [
        ("function loop(msg) end end", "analyzers/flaky.lua:1: <eof> expected near 'end'"),
        ("function setup() error('no model') end function loop(msg) end", "setup(): analyzers/flaky.lua:1: no model"),
        ("local x = 1", "analyzers/flaky.lua defines no loop(msg) function"),
        ("while true do end", "instruction budget exceeded"),
    ],
)
def test_a_script_that_cannot_load_is_named(chain, source, message):
    with pytest.raises(ScriptLoadError) as info:
        chain(flaky=source, max_instructions=10_000)
    assert str(info.value).startswith('analyzers[1] (tag "flaky"): ')
    assert message in str(info.value)


def test_keep_going_quarantines_a_script_that_cannot_load(chain):
    h = chain(flaky="function loop(msg) end end", keep_going=True)
    h.push(['{"i":1}'])
    assert h.stats("flaky")["quarantined"]
    assert h.events("out")[0]["mle"]["errors"][0]["error"] == "skipped: script is quarantined"
    assert "<eof> expected" in h.worker.load_errors[0]
