"""The Lua heap of a worker stays bounded however many events pass.

Lua 5.4's generational collector starts a major collection only from a step that
allocation triggered; the engine steps it explicitly after each batch, and those steps
only ever ran minor collections, so whatever lived through two batches stayed in the
old generation for good. Dragonfly's hello-world chain (one Redis INCR per event) grew
the worker by 140 bytes per event that way: 85 MB after 300,000 events, 135 MB after
600,000.
"""

from __future__ import annotations

import gc

import orjson
import pytest

HELLO = """
function setup()
  conn = hiredis.connect()
end
function loop(msg)
  msg.event_count = conn:command_line("INCR count:" .. msg.event_type)
  dragonfly.output_event(default_output, msg)
end
"""

CONFIG = """
inputs = { { tag = "eve", uri = "file:///dev/null", script = "filter.lua", default_analyzer = "hello" } }
analyzers = { { tag = "hello", script = "hello.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file:///dev/null" } }
"""

FILTER = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end\n"


# hello-world with a large long-lived state, as the shipped analyzers' per-host tables
HELLO_WITH_STATE = HELLO.replace(
    "function setup()\n  conn = hiredis.connect()\nend\n",
    "function setup()\n  conn = hiredis.connect()\n  STATE = {}\n  for i = 1, 300000 do STATE[i] = { i } end\nend\n")
assert HELLO_WITH_STATE != HELLO


def alive_records(key: str) -> int:
    """Decoded records (dicts with ``key``) still alive after Python's collector ran."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is dict and key in o)


def test_the_heap_does_not_grow_with_the_number_of_events(make_root, harness):
    root = make_root(CONFIG, inputs={"filter.lua": FILTER}, analyzers={"hello.lua": HELLO})
    h = harness(root)
    batch = [orjson.dumps({"event_type": t, "src_ip": f"10.0.{i % 7}.{i}", "flow_id": i})
             for i, t in enumerate(["dns", "flow", "tls", "http"] * 64)]

    def heap_after(batches: int) -> float:
        for _ in range(batches):
            h.push(batch)
        return h.worker.engine.memory_kb()

    warm = heap_after(100)
    later = heap_after(400)  # 102,400 more events
    assert later < 2 * max(warm, 1024), f"Lua heap grew from {warm:.0f} KB to {later:.0f} KB"
    assert len(h.outputs["out"]) == 500 * len(batch)  # every event went through
    assert h.stats("eve")["n_err"] == h.stats("hello")["n_err"] == 0


# the same, reading the event's fields through mle.fields (a table per record the kernel keeps)
HELLO_WITH_STATE_AND_FIELDS = HELLO_WITH_STATE.replace(
    '"INCR count:" .. msg.event_type', '"INCR count:" .. mle.fields(msg).event_type .. mle.fields(msg).flow.x')
assert HELLO_WITH_STATE_AND_FIELDS != HELLO_WITH_STATE


@pytest.mark.parametrize("analyzer", [HELLO_WITH_STATE, HELLO_WITH_STATE_AND_FIELDS], ids=["msg", "mle.fields"])
def test_the_records_of_finished_events_are_freed(make_root, harness, analyzer):
    # Lua's wrappers hold the decoded records (Python dicts) until a collection. With
    # large long-lived state (an analyzer's per-host tables), Lua's own collector waits
    # for the heap to grow by a fifth or more, tens of thousands of events; the worker
    # runs a collection every few thousand events, so at most that many stay alive
    h = harness(make_root(CONFIG, inputs={"filter.lua": FILTER}, analyzers={"hello.lua": analyzer}))
    batch = [orjson.dumps({"event_type": "dns", "src_ip": f"10.0.0.{i}", "flow_id": i, "held": [i],
                           "flow": {"x": "y", "held": [i]}}) for i in range(256)]
    for _ in range(500):  # 128,000 events
        h.push(batch)
        h.outputs.clear()
    alive = alive_records("held")
    assert alive <= 5000, f"{alive:,} records of finished events are still alive"


def test_verdicts_are_freed_when_no_events_come(make_root, harness):
    # a worker that takes only analysts' verdicts for a while (no events) frees them too
    # (after a full collection, Lua's own next one waits for the heap to double)
    learner = HELLO_WITH_STATE + "function feedback(fb) LEARNED = (LEARNED or 0) + 1 end\n"
    h = harness(make_root(CONFIG, inputs={"filter.lua": FILTER}, analyzers={"hello.lua": learner}))
    for b in range(8):  # events first: the worker's first full collection comes within them
        h.push([orjson.dumps({"event_type": "dns", "flow_id": b * 256 + i}) for i in range(256)])
    for i in range(20_000):
        taken, _ = h.worker.feedback({"verdict": "malicious", "held": [i]})
        assert taken == 1
    alive = alive_records("held")
    assert alive <= 5000, f"{alive:,} verdicts are still alive"


@pytest.mark.parametrize("runtime", ["lua54", "luajit"])
def test_a_record_a_script_puts_into_its_fields_table_is_freed(make_root, harness, runtime):
    # LuaJIT's table.insert writes raw and its weak tables are not ephemerons: a record
    # stored in a fields table the kernel keeps per record would keep itself alive
    hello = ("function loop(msg)\n  pcall(table.insert, mle.fields(msg), msg)\n"
             "  dragonfly.output_event(default_output, msg)\nend\n")
    h = harness(make_root(CONFIG, inputs={"filter.lua": FILTER}, analyzers={"hello.lua": hello}), runtime=runtime)
    batch = [orjson.dumps({"event_type": "flow", "flow_id": i, "held": [i]}) for i in range(256)]
    for _ in range(100):  # 25,600 events
        h.push(batch)
        h.outputs.clear()
    alive = alive_records("held")
    assert alive <= 5000, f"{alive:,} records of finished events are still alive"
