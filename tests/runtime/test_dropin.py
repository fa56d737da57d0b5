"""Analyzers dropped into a running engine: a new file that declares its event types
starts running within seconds, a changed one is swapped in, a broken one leaves the
running version and says why, a deleted one stops; no event lost or run twice."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.runtime.helpers import append_events, lines_of
from tests.runtime.test_reload import StderrReader
from tests.waiting import wait_for

ROUTED = """
inputs = {{ {{ tag = "eve", uri = "file://{eve}", script = "route.lua" }} }}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
mle = {{ batch_timeout_ms = 2 }}
"""
ROUTE = "function loop(msg) mle.route(msg) end"
STAMP = """
analyzer = {{ event_types = "*" }}
function loop(msg) msg["{name}"] = "{version}" end
"""


def feed_until(eve: Path, out: Path, first: int, done) -> int:
    """Append 5 events at a time (numbered from ``first``) until ``done(events)``; the next number."""
    counter = [first]

    def step() -> bool:
        append_events(eve, range(counter[0], counter[0] + 5))
        counter[0] += 5
        return done(lines_of(out))

    wait_for(step, interval=0.2, timeout=60, what="the engine to pick up the change")
    return counter[0]


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
def test_dropped_in_changed_broken_and_deleted_analyzers(make_root, tmp_path, engine, workers):
    eve = tmp_path / "eve.json"
    append_events(eve, range(20))
    root = make_root(ROUTED.format(eve=eve), inputs={"route.lua": ROUTE},
                     analyzers={"first.lua": STAMP.format(name="first", version="v1")})
    process = engine(root, "--workers", str(workers))
    stderr = StderrReader(process)
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == 20, what="the first events")

    # a new analyzer file: no config change, it runs
    (root / "analyzers/second.lua").write_text(STAMP.format(name="second", version="v1"))
    n = feed_until(eve, out, 20, lambda events: any("second" in e for e in events[-5:]))
    # a changed one is swapped in
    (root / "analyzers/first.lua").write_text(STAMP.format(name="first", version="v2"))
    n = feed_until(eve, out, n, lambda events: events[-1]["first"] == "v2")
    # a broken one: the running version goes on, the log says why
    (root / "analyzers/first.lua").write_text('analyzer = { event_types = "*" }\nfunction loop(msg) msg. = 1 end\n')
    wait_for(lambda: "scripts not reloaded" in stderr.text, what="the broken file to be refused")
    n = feed_until(eve, out, n, lambda events: events[-1]["first"] == "v2")
    # deleting the file retires it
    (root / "analyzers/first.lua").unlink()
    n = feed_until(eve, out, n, lambda events: "first" not in events[-1])
    wait_for(lambda: len(lines_of(out)) == n, what="every event written")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0

    events = lines_of(out)
    assert sorted(e["i"] for e in events) == list(range(n))  # none lost, none written twice
    assert "analyzers/first.lua:2:" in stderr.all()  # the broken file and line are named
    stamps = [e.get("first", "-") for e in sorted(events, key=lambda e: e["i"]) if e["i"] < 20]
    assert stamps == ["v1"] * 20  # before any change: the first version only
    assert {e.get("first", "-") for e in events} == {"v1", "v2", "-"}
