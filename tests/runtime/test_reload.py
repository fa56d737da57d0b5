"""SIGHUP reloads scripts in a running engine (one process and several workers):
nothing lost or repeated, the order of each worker's events kept, a broken script
refused while the running one goes on."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.runtime.helpers import FORWARD, append_events, config, lines_of
from tests.waiting import wait_for

VERSIONED = """
local seen = 0
local redis
function setup() redis = hiredis.connect() end
function loop(m)
  seen = seen + 1
  m.version = "{version}"
  m.seen = seen
  m.worker = mle.worker
  m.processed = redis:command("INCR", "processed")  -- counts every time an event is processed
  dragonfly.output_event(default_output, m)
end"""


def start_with_v1(make_root, tmp_path: Path, engine, workers: int, events: int):
    """`mle run --workers N` with the v1 analyzer, after it wrote its first ``events``:
    (process, root, eve file, output file)."""
    eve = tmp_path / "eve.json"
    append_events(eve, range(events))
    root = make_root(config(eve), inputs={"f.lua": FORWARD}, analyzers={"a.lua": VERSIONED.format(version="v1")})
    process = engine(root, "--workers", str(workers), "--no-watch")
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == events, what=f"the first {events} events")
    return process, root, eve, out


def feed_until_all_run_v2(eve: Path, first: int, out: Path, worker_ids: set[int]) -> int:
    """Append 10 events at a time (numbered from ``first``) until every worker wrote one
    with the v2 script; returns the next number."""
    counter = [first]

    def step() -> bool:
        append_events(eve, range(counter[0], counter[0] + 10))
        counter[0] += 10
        return {e["worker"] for e in lines_of(out) if e["version"] == "v2"} == worker_ids

    wait_for(step, interval=0.1, what="the reloaded script in every worker")
    return counter[0]


class StderrReader:
    """Collects a running engine's standard error as it comes."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stderr:
            self.text += line.decode(errors="replace")

    def all(self) -> str:
        self._thread.join(10)
        return self.text


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
def test_sighup_reloads_scripts_without_losing_or_repeating_events(make_root, tmp_path, engine, workers):
    process, root, eve, out = start_with_v1(make_root, tmp_path, engine, workers, 100)

    (root / "analyzers/a.lua").write_text(VERSIONED.format(version="v2"))
    process.send_signal(signal.SIGHUP)
    worker_ids = set(range(max(workers, 1)))
    total = feed_until_all_run_v2(eve, 100, out, worker_ids)
    wait_for(lambda: len(lines_of(out)) == total, what="every event written")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0

    events = lines_of(out)
    assert sorted(e["i"] for e in events) == list(range(total))  # none lost, none written twice
    assert sorted(e["processed"] for e in events) == list(range(1, total + 1))  # none processed twice
    for worker in worker_ids:
        mine = [e for e in events if e["worker"] == worker]
        versions = [e["version"] for e in mine]
        assert versions == sorted(versions) and versions[-1] == "v2"  # old script's events first, then new
        assert next(e["seen"] for e in mine if e["version"] == "v2") == 1  # the new script starts afresh


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
def test_a_script_that_fails_to_load_is_refused_and_the_running_one_goes_on(make_root, tmp_path, engine, workers):
    process, root, eve, out = start_with_v1(make_root, tmp_path, engine, workers, 10)

    (root / "analyzers/a.lua").write_text("function loop(m) m.x = end\n")  # a syntax error
    (root / "config.lua").write_text((root / "config.lua").read_text() + "\n-- edited\n")
    stderr = StderrReader(process)
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "scripts not reloaded" in stderr.text, what="the reload to be refused")
    append_events(eve, range(10, 20))
    wait_for(lambda: len(lines_of(out)) == 20, what="events after the refused reload")
    assert {e["version"] for e in lines_of(out)} == {"v1"}

    (root / "analyzers/a.lua").write_text(VERSIONED.format(version="v2"))
    process.send_signal(signal.SIGHUP)
    feed_until_all_run_v2(eve, 20, out, set(range(max(workers, 1))))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    text = stderr.all()
    assert text.count("scripts not reloaded, the running ones go on") == 1, text
    assert 'analyzers[1] (tag "a"): analyzers/a.lua:1: unexpected symbol' in text  # the script, line, problem
    assert "config.lua changed since start" in text


FORWARD_AND_ARM = """
local armed = false
function loop(msg)
  if msg.timer then
    dragonfly.output_event(default_output, {fired_in = mle.worker})
    return
  end
  if not armed then
    armed = true
    dragonfly.timer_event(mle.tag, 3600, {timer = true})
  end
  dragonfly.output_event(default_output, msg)
end"""


@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
def test_pending_timers_of_the_old_scripts_fire_when_they_are_replaced(make_root, tmp_path, engine, workers):
    eve = tmp_path / "eve.json"
    append_events(eve, range(200))
    root = make_root(config(eve), inputs={"f.lua": FORWARD}, analyzers={"a.lua": FORWARD_AND_ARM})
    process = engine(root, "--workers", str(workers), "--no-watch")
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == 200, what="every event (each worker armed a timer)")
    process.send_signal(signal.SIGHUP)

    def fired() -> list[int]:
        return sorted(e["fired_in"] for e in lines_of(out) if "fired_in" in e)

    stderr = StderrReader(process)
    try:
        wait_for(lambda: len(fired()) == max(workers, 1), what="the old scripts' timers")
    except AssertionError:
        process.send_signal(signal.SIGUSR2)
        pytest.fail(f"timers: {fired()}; engine log:\n{stderr.text}")
    assert fired() == list(range(max(workers, 1)))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert len(fired()) == max(workers, 1)  # once, not again at the drain


FIRE = "    dragonfly.output_event(default_output, {fired_in = mle.worker})\n"
SLOW_TIMER = FORWARD_AND_ARM.replace(FIRE, """    print("the old script's timer fires")
    local started = os.clock()
    while os.clock() - started < 1.5 do end  -- retiring takes a while
""" + FIRE)
assert SLOW_TIMER != FORWARD_AND_ARM


def test_a_stop_during_a_reload_still_ends_the_replaced_worker(make_root, tmp_path, engine):
    # SIGTERM while a worker retires (its old script's timer still running): the input has
    # nothing in flight, yet the source must wait for the replacement and tell it the
    # input ended, or the engine never finishes
    eve = tmp_path / "eve.json"
    append_events(eve, range(20))
    root = make_root(config(eve, extra=", max_instructions = 0"), inputs={"f.lua": FORWARD},
                     analyzers={"a.lua": SLOW_TIMER})
    process = engine(root, "--workers", "1", "--no-watch")
    out = root / "var/log/out.json"
    wait_for(lambda: len(lines_of(out)) == 20, what="every event")
    stderr = StderrReader(process)
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "the old script's timer fires" in stderr.text, what="the worker to retire")
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR2)  # every process's Python stacks to the log
        pytest.fail(f"the engine did not stop; its log:\n{stderr.all()}")
    assert code == 0
    assert [e["fired_in"] for e in lines_of(out) if "fired_in" in e] == [0]
    assert sorted(e["i"] for e in lines_of(out) if "i" in e) == list(range(20))
