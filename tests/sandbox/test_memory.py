"""The memory ceiling (``mle = { max_memory_mb = N }``): a memory bomb costs only
its own event; the engine survives and keeps processing."""

from __future__ import annotations

import tracemalloc

import pytest

from mle.errors import ScriptLoadError
from tests.sandbox.conftest import ATTACK_THEN_PROBE, Job, probe_ok, run_jobs

MEMORY_MSG = "not enough memory"
CEILING_MB = 24


JOBS = {
    "dag": Job("""
        function attack(msg)
          local t = { 1 }
          for i = 1, 26 do t = { t, t } end
          msg.size = #cjson.encode(t)
        end
    """, ATTACK_THEN_PROBE, max_memory_mb=CEILING_MB),
    "failed_allocations": Job("""
        function attack(msg) while true do pcall(string.rep, "x", 1 << 30) end end
    """, [[{"attack": True}]] * 5 + [[{"probe": True}]], timeout=3, max_memory_mb=CEILING_MB,
        options={"budget": 10_000_000}),
}


@pytest.fixture(scope="module")
def isolated_results(tmp_path_factory):
    return run_jobs(tmp_path_factory.mktemp("isolated"), JOBS)

BOMBS = {
    "string_rep": """
        function attack(msg) local s = string.rep("x", 1 << 30) end
    """,
    "string_rep_with_separator": """
        function attack(msg) local s = string.rep("x", 1 << 24, string.rep("y", 64)) end
    """,
    "concat_doubling": """
        function attack(msg) local s = "x"; for i = 1, 40 do s = s .. s end end
    """,
    "table_of_strings": """
        function attack(msg)
          local t = {}
          for i = 1, 1000 do t[i] = string.rep("x", 1 << 20) .. i end
        end
    """,
    "table_growth": """
        function attack(msg)
          local t = {}
          local i = 0
          while true do i = i + 1; t[i] = i end
        end
    """,
    "table_concat": """
        function attack(msg)
          local s = string.rep("x", 1 << 20)
          local t = {}
          for i = 1, 64 do t[i] = s end
          local big = table.concat(t)
        end
    """,
    "gsub_expansion": """
        function attack(msg)
          local s = string.rep("x", 1 << 16)
          local big = s:gsub("x", string.rep("y", 1024))
        end
    """,
    "caught_and_retried_in_pcall": """
        function attack(msg)
          while true do pcall(string.rep, "x", 1 << 30) end
        end
    """,
    "global_hoard_then_error": """
        HOARD = {}
        function attack(msg)
          HOARD = {}
          for i = 1, 1000 do HOARD[i] = string.rep("x", 1 << 20) .. i end
        end
    """,
    "cjson_decode_of_big_document": """
        function attack(msg)
          local doc = "[" .. string.rep('"' .. string.rep("x", 1000) .. '",', 20000) .. "0]"
          cjson.decode(doc)
        end
    """,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_memory_bomb_costs_only_its_event(sandbox, name):
    # caught_and_retried_in_pcall: running out of memory cannot be caught by pcall (re-raised)
    retried = name == "caught_and_retried_in_pcall"
    p = sandbox(BOMBS[name], max_memory_mb=CEILING_MB, budget=100_000 if retried else 10_000_000)
    doc = p.attack()
    p.assert_contained(doc, MEMORY_MSG)
    assert p.worker.engine.memory_kb() < CEILING_MB * 1024
    if name == "global_hoard_then_error":  # it keeps what it took: quarantined, its memory released
        assert p.stats("a")["quarantined"]
        return
    p.probe()
    p.assert_contained(p.attack(), n_err=2)  # and again
    p.probe()


def test_memory_bomb_in_setup_fails_the_load_not_the_engine(sandbox_root, harness):
    root = sandbox_root("""
        function setup() local s = "x"; for i = 1, 40 do s = s .. s end end
        function attack(msg) end
    """)
    with pytest.raises(ScriptLoadError, match=MEMORY_MSG):
        harness(root, max_memory_mb=CEILING_MB)
    # --keep-going: the failed script is quarantined, events go on past it
    h = harness(root, keep_going=True, max_memory_mb=CEILING_MB)
    h.push(['{"probe": true}'])
    (doc,) = h.events("out")
    assert doc["mle"]["errors"] == [{"analyzer": "a", "hook": "loop", "error": "skipped: script is quarantined"}]
    assert h.worker.engine_errors == 0


def test_memory_hoarding_script_cannot_starve_the_others(sandbox):
    p = sandbox("""
        HOARD = {}
        function attack(msg)
          pcall(function() while true do HOARD[#HOARD + 1] = string.rep("h", 1 << 20) .. #HOARD end end)
          msg.hoarded_mb = #HOARD
        end
    """, victim="""
        function loop(msg)
          msg.victim_len = #string.rep("v", 4 << 20)  -- an ordinary 4 MB working buffer
          dragonfly.output_event("out", msg)
        end
    """, max_memory_mb=CEILING_MB, budget=1_000_000, a_opts=', default_analyzer = "b"')
    doc = p.attack()
    # running out of memory cannot be caught; the script holding the memory is quarantined
    # (and the events it would have seen go on to the victim)
    p.assert_contained(doc, MEMORY_MSG)
    assert p.stats("a")["quarantined"]
    (probe,) = p.push({"probe": True})[0]
    assert probe.get("victim_len") == 4 << 20, probe  # the others work again


def test_python_side_copies_count_against_the_ceiling(sandbox):
    p = sandbox("""
        function attack(msg)
          local s = string.rep("x", 1 << 20)
          for i = 1, 64 do msg["k" .. i] = s end
          for i = 1, 64 do msg["k" .. i] = nil end
          msg.stored = 64
        end
    """, max_memory_mb=CEILING_MB)
    tracemalloc.start()
    try:
        doc = p.attack()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    p.probe()
    stored = doc.get("stored", 0)
    assert stored == 0 or peak < CEILING_MB << 20, (
        f"the script made the engine hold {peak >> 20} MB of Python strings under a {CEILING_MB} MB ceiling")


def test_rendering_a_shared_reference_dag_is_bounded(isolated_results):
    result = isolated_results["dag"]
    assert not result.hung, f"cjson.encode ran {result.elapsed:.1f} s (killed) on a 27-table value"
    assert probe_ok(result, 2)


def test_rearming_a_timer_does_not_accumulate(sandbox):
    p = sandbox("""
        function attack(msg)
          for i = 1, 2000 do dragonfly.timer_event("a", 1e9, { i = i, pad = "xxxxxxxxxxxxxxxx" }) end
        end
    """)
    doc = p.attack()
    assert doc.get("attack_returned") is True
    p.probe()
    assert len(p.worker.timers) == 1
    assert len(p.worker.timers._heap) <= 2, f"{len(p.worker.timers._heap)} timer entries kept for 1 live timer"


def test_repeated_failed_allocations_are_bounded_in_time(isolated_results):
    result = isolated_results["failed_allocations"]
    assert not result.hung, (
        f"event {len(result.batches) + 1} ran {result.elapsed:.1f} s (killed) under a 10M instruction budget")
    assert probe_ok(result, 5)
