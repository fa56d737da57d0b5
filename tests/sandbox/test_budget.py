"""The instruction budget: nothing a script can write escapes it (Lua 5.4).

Each test: the attack is stopped with "instruction budget exceeded", annotated on
the event and counted, and the next event still flows through both scripts."""

from __future__ import annotations

import pytest

from mle.errors import ScriptLoadError
from tests.sandbox.conftest import ATTACK_THEN_PROBE, Job, probe_ok, run_jobs

BUDGET_MSG = "instruction budget exceeded"


# attacks that hang the worker today run in subprocess workers, all at once
JOBS = {
    "self_routing": Job("""
        function attack(msg) dragonfly.analyze_event("a", msg) end
    """, ATTACK_THEN_PROBE),
    "catastrophic_pattern": Job("""
        function attack(msg) string.find(string.rep("a", 1e5), ".-.-.-.-.-b") end
    """, [[{"probe": True}], [{"attack": True}]], timeout=3),
    "xpcall_handler_after_budget_error": Job("""
        function attack(msg)
          xpcall(function() while true do end end, function(e) while true do end end)
        end
    """, ATTACK_THEN_PROBE),
    "xpcall_handler_after_ordinary_error": Job("""
        function attack(msg)
          xpcall(function() error("first") end, function(e) while true do end end)
        end
    """, ATTACK_THEN_PROBE),
    "close_after_budget_death": Job("""
        function attack(msg)
          if msg.step == 1 then
            CO = coroutine.create(function()
              local guard <close> = setmetatable({}, { __close = function() while true do end end })
              while true do end
            end)
            coroutine.resume(CO)
          else
            coroutine.close(CO)
          end
        end
    """, [[{"attack": True, "step": 1}], [{"attack": True, "step": 2}], [{"probe": True}]]),
}


@pytest.fixture(scope="module")
def isolated_results(tmp_path_factory):
    return run_jobs(tmp_path_factory.mktemp("isolated"), JOBS)


LOOPS = {
    "plain_loop": """
        function attack(msg) while true do end end
    """,
    "numeric_for": """
        function attack(msg) local x = 0; for i = 1, math.maxinteger do x = x + i end end
    """,
    "pcall_in_a_loop": """
        function attack(msg)
          while true do pcall(function() while true do end end) end
        end
    """,
    "pcall_error_loop": """
        function attack(msg)
          while true do pcall(error, "x") end
        end
    """,
    "xpcall_handler_raising": """
        function attack(msg)
          while true do
            xpcall(function() error("first") end, function(e) error(e) end)
          end
        end
    """,
    "coroutine_wrap": """
        function attack(msg)
          local f = coroutine.wrap(function() while true do end end)
          while true do pcall(f) end
        end
    """,
    "coroutine_resume": """
        function attack(msg)
          while true do
            local co = coroutine.create(function() while true do end end)
            coroutine.resume(co)
          end
        end
    """,
    "yielding_coroutine_driven_forever": """
        function attack(msg)
          local co = coroutine.create(function() while true do coroutine.yield() end end)
          while true do coroutine.resume(co) end
        end
    """,
    "nested_coroutines": """
        function attack(msg)
          local inner = coroutine.wrap(function() while true do end end)
          local outer = coroutine.wrap(function() while true do pcall(inner) end end)
          while true do pcall(outer) end
        end
    """,
    "index_metamethod": """
        function attack(msg)
          local t = setmetatable({}, { __index = function() while true do end end })
          while true do pcall(function() return t.x end) end
        end
    """,
    "newindex_metamethod": """
        function attack(msg)
          local t = setmetatable({}, { __newindex = function() while true do end end })
          t.x = 1
        end
    """,
    "tostring_metamethod": """
        function attack(msg)
          local t = setmetatable({}, { __tostring = function() while true do end end })
          while true do pcall(tostring, t) end
        end
    """,
    "tostring_via_print": """
        function attack(msg)
          print(setmetatable({}, { __tostring = function() while true do end end }))
        end
    """,
    "tostring_via_format": """
        function attack(msg)
          string.format("%s", setmetatable({}, { __tostring = function() while true do end end }))
        end
    """,
    "close_variable": """
        function attack(msg)
          local guard <close> = setmetatable({}, { __close = function() while true do end end })
          while true do end
        end
    """,
    "close_variable_on_normal_return": """
        function attack(msg)
          local guard <close> = setmetatable({}, { __close = function() while true do end end })
          return
        end
    """,
    "loaded_chunk": """
        function attack(msg)
          local f = load("while true do end")
          while true do pcall(f) end
        end
    """,
    "loaded_chunk_with_own_env": """
        function attack(msg)
          local f = load("while true do pcall(function() while true do end end) end", "x", "t", { pcall = pcall })
          f()
        end
    """,
    "gsub_callback": """
        function attack(msg)
          string.gsub("aaaa", "a", function() while true do end end)
        end
    """,
    "sort_comparator": """
        function attack(msg)
          table.sort({ 3, 2, 1 }, function(a, b) while true do end end)
        end
    """,
    "error_handler_recursion": """
        function attack(msg)
          local function h(e) error(e) end
          while true do xpcall(error, h, "x") end
        end
    """,
    "required_module": """
        function attack(msg)
          require("spin")
        end
    """,
}

# every other metamethod Lua calls implicitly
for _event, _expr in {"__eq": "a == b", "__lt": "a < b", "__le": "a <= b", "__concat": "a .. b", "__len": "#a",
                      "__call": "a()", "__unm": "-a", "__add": "a + 1", "__idiv": "a // 1", "__band": "a & 1",
                      "__shl": "a << 1", "__bnot": "~a", "__mod": "a % 1", "__pow": "a ^ 2"}.items():
    LOOPS[f"metamethod_{_event}"] = f"""
        function attack(msg)
          local mt = {{ {_event} = function() while true do end end }}
          local a, b = setmetatable({{}}, mt), setmetatable({{}}, mt)
          local _ = {_expr}
        end
    """


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_budget_stops_the_attack(sandbox, name):
    p = sandbox(LOOPS[name], files={"analyzers/spin.lua": "while true do end\n"})
    doc = p.attack()
    p.assert_contained(doc, BUDGET_MSG)
    p.probe()
    doc = p.attack()  # every time, not just once
    p.assert_contained(doc, BUDGET_MSG, n_err=2)
    p.probe()


def test_budget_applies_to_setup(sandbox_root, harness):
    root = sandbox_root("""
        function setup() while true do pcall(function() while true do end end) end end
        function attack(msg) end
    """)
    with pytest.raises(ScriptLoadError, match=BUDGET_MSG):
        harness(root)


def test_budget_applies_to_the_top_level_chunk(sandbox_root, harness):
    root = sandbox_root("while true do end\nfunction attack(msg) end")
    with pytest.raises(ScriptLoadError, match=BUDGET_MSG):
        harness(root)


def test_budget_survives_catching_in_a_coroutine_that_catches(sandbox):
    # the budget error is raised inside a coroutine, caught by the coroutine's own pcall,
    # which then keeps looping: every later tick raises again
    p = sandbox("""
        function attack(msg)
          local co = coroutine.create(function()
            while true do pcall(function() while true do end end) end
          end)
          local ok, err = coroutine.resume(co)
          msg.resumed = tostring(ok) .. " " .. tostring(err)
        end
    """)
    p.assert_contained(p.attack(), BUDGET_MSG)
    p.probe()


def test_budget_is_per_event_not_cumulative(sandbox):
    # 70% of the budget per event is fine, every time
    p = sandbox("""
        function attack(msg) local x = 0; for i = 1, 14000 do x = x + i end; msg.x = x end
    """, budget=100_000)
    for _ in range(3):
        doc = p.attack()
        assert doc.get("attack_returned") is True and "mle" not in doc, doc
    assert p.stats("a")["n_err"] == 0


def test_gc_metamethod_is_refused(sandbox):
    p = sandbox("""
        function attack(msg)
          setmetatable({}, { __gc = function() while true do end end })
        end
    """)
    p.assert_contained(p.attack(), "__gc metamethods are not allowed")
    p.probe()


def test_gc_metamethod_added_after_setmetatable_never_runs(sandbox):
    # Lua 5.4 marks an object for finalization only if its metatable has __gc when set
    p = sandbox("""
        FINALIZED = 0
        function attack(msg)
          if msg.check then
            for i = 1, 200 do local _ = { string.rep("x", 1000) } end  -- churn: let the GC run
            msg.finalized = FINALIZED
            return
          end
          for i = 1, 50 do
            local mt = {}
            setmetatable({}, mt)
            mt.__gc = function() FINALIZED = FINALIZED + 1 end
          end
        end
    """)
    p.attack()
    for _ in range(3):
        p.worker.engine.collect_garbage(4096)
        p.worker.engine.lua.execute("collectgarbage('collect')")
    doc = p.attack({"check": True})
    assert doc["finalized"] == 0
    assert p.worker.engine_errors == 0 and p.stats("a")["n_err"] == 0
    p.probe()


def test_gc_metamethod_via_metatable_of_metatable_is_refused(sandbox):
    # __gc is looked up raw; a __gc inherited through __index is not a finalizer
    p = sandbox("""
        RAN = false
        function attack(msg)
          if msg.check then msg.ran = RAN; return end
          local mt = setmetatable({}, { __index = { __gc = function() RAN = true end } })
          for i = 1, 20 do setmetatable({}, mt) end
        end
    """)
    p.attack()
    p.worker.engine.lua.execute("collectgarbage('collect')")
    assert p.attack({"check": True})["ran"] is False
    p.probe()


MALICIOUS_ERRORS = {
    "table_with_tostring": "setmetatable({}, { __tostring = spin })",
    "table_with_index": "setmetatable({}, { __index = spin, __tostring = spin, __concat = spin, __len = spin })",
    "table_with_everything": "setmetatable({}, { __index = spin, __newindex = spin, __eq = spin, __tostring = spin,"
                             " __name = 'x', __metatable = 'locked' })",
    "function": "spin",
    "coroutine": "coroutine.create(spin)",
    "nil": "nil",
}


@pytest.mark.parametrize("name", sorted(MALICIOUS_ERRORS))
def test_error_objects_are_formatted_without_running_script_code(sandbox, name):
    p = sandbox(f"""
        local function spin() while true do end end
        function attack(msg) error({MALICIOUS_ERRORS[name]}) end
    """)
    text = p.assert_contained(p.attack())
    assert "error object" in text or text == "nil", text
    p.probe()


def test_error_object_rethrown_through_coroutine_wrap(sandbox):
    p = sandbox("""
        local function spin() while true do end end
        function attack(msg)
          local f = coroutine.wrap(function() error(setmetatable({}, { __tostring = spin, __index = spin })) end)
          f()
        end
    """)
    assert "error object of type table" in p.assert_contained(p.attack())
    p.probe()


def test_quarantine_after_repeated_budget_failures(sandbox):
    p = sandbox("function attack(msg) while true do end end", quarantine_after=3)
    for i in range(3):
        p.assert_contained(p.attack(), BUDGET_MSG, n_err=i + 1)
    assert p.stats("a")["quarantined"] is True
    doc = p.attack()
    assert p.errors(doc)[0]["error"] == "skipped: script is quarantined"
    assert p.stats("a")["n_err"] == 3


def test_self_routing_event_loop_is_bounded(isolated_results):
    result = isolated_results["self_routing"]
    assert not result.hung, f"the worker hung ({result.elapsed:.1f} s) on an event routed to itself forever"
    assert probe_ok(result, 2)


CATASTROPHIC_PATTERN_HOLE = (  # fixed; kept as the record of why patterns.lua exists
    "HOLE: catastrophic backtracking in string.find runs inside one C call where the count hook never "
    'fires: string.find(string.rep("a", 100), ".-.-.-.-.-b") alone took ~15 s, with 1e5 characters it is '
    "effectively unbounded (O(n^6)). Fix: mle/lua/patterns.lua runs a pattern that could backtrack for "
    "long on a subject that long in a Lua matcher the budget counts.")


def test_catastrophic_pattern_in_c_is_bounded(isolated_results):
    result = isolated_results["catastrophic_pattern"]
    assert not result.hung, f"string.find ran for {result.elapsed:.1f} s (killed) under a 100k instruction budget"
    errors = [d.get("mle", {}).get("errors") for d in result.out(1)]
    assert errors == [[{"analyzer": "a", "hook": "loop", "error": "instruction budget exceeded"}]]


XPCALL_HANDLER_HOLE = (  # fixed; kept as the record of why safe_xpcall wraps the handler
    "HOLE: an xpcall message handler called for an error raised by the count hook runs with hooks "
    "disabled (lua_Hook sets L->allowhook = 0 and the error longjmps out of the hook; allowhook is only "
    "restored when the enclosing pcall unwinds), so the handler runs unbounded. Fix in sandbox.lua "
    "safe_xpcall: wrap the handler, `function(e) if budget_exceeded() then return e end return handler(e) end`.")


def test_xpcall_handler_runs_under_the_budget_after_a_budget_error(isolated_results):
    result = isolated_results["xpcall_handler_after_budget_error"]
    assert not result.hung, f"worker hung for {result.elapsed:.1f} s in an xpcall message handler"
    assert probe_ok(result, 2)


def test_xpcall_looping_handler_after_an_ordinary_error(isolated_results):
    result = isolated_results["xpcall_handler_after_ordinary_error"]
    assert not result.hung, f"worker hung for {result.elapsed:.1f} s in an xpcall message handler"
    assert probe_ok(result, 2)


def test_xpcall_handler_work_after_a_budget_error_is_cut_short(sandbox):
    # the same hole without hanging: after the budget error the handler does 40x the budget of work
    # and completes
    p = sandbox("""
        FINISHED = 0
        function attack(msg)
          if msg.check then msg.finished = FINISHED; return end
          xpcall(function() while true do end end, function(e)
            local i = 0
            while i < 1e6 do i = i + 1 end
            FINISHED = FINISHED + 1
            return e
          end)
        end
    """)
    p.assert_contained(p.attack(), BUDGET_MSG)
    p.probe()
    assert p.attack({"check": True})["finished"] == 0, "the handler ran 4M instructions under a 100k budget"


def test_close_of_a_coroutine_killed_by_the_budget_runs_under_the_budget(isolated_results):
    result = isolated_results["close_after_budget_death"]
    assert not result.hung, f"worker hung for {result.elapsed:.1f} s running a __close handler"
    assert probe_ok(result, 2)


def test_short_lived_coroutines_do_not_multiply_the_budget(sandbox):
    # 240 iterations of `i = i + 1` is ~960 instructions: just under one hook tick per coroutine
    p = sandbox("""
        WORK = 0
        local function body() local i = 0; while i < 240 do i = i + 1 end; WORK = WORK + 240 end
        function attack(msg)
          if msg.check then msg.work = WORK; return end
          while true do coroutine.wrap(body)() end
        end
    """)
    p.assert_contained(p.attack(), BUDGET_MSG)
    work = p.attack({"check": True})["work"]
    p.probe()
    # 100k instructions allow ~25k loop iterations (4 instructions each); allow 2x for overheads
    assert work <= 50_000, f"{work} loop iterations (~{work * 4 // 1000}k instructions) under a 100k budget"
