"""The script lint behind ``mle check``: globals that leak between events, and Redis
read-modify-writes split over two commands."""

from __future__ import annotations

import textwrap

import pytest

from mle.tooling.lint import lint_source
from tests.conftest import run_mle


def warnings(source: str) -> list[tuple[int, str, str]]:
    return [(w.line, w.rule, w.message) for w in lint_source(textwrap.dedent(source).lstrip("\n"))]


def test_a_global_set_only_in_loop_leaks_into_the_next_event():
    found = lint_source(textwrap.dedent("""
        function loop(msg)
          count = (count or 0) + 1
          mle.score(msg, count / 100)
        end
    """).lstrip("\n"))
    (w,) = found
    assert (w.line, w.rule) == (2, "leaking-global")
    assert w.message == ('loop sets the global "count", which nothing sets at the top level or in setup(): '
                         "its value leaks from one event into the next")
    assert w.fix.startswith('write "local count" in loop')


def test_globals_in_feedback_and_helpers_leak_too_once_per_name_and_function():
    assert warnings("""
        local function remember(ip) last_ip = ip; last_ip = ip end
        function feedback(fb) verdict = fb.verdict end
        function loop(msg) remember(msg.src_ip) end
    """) == [
        (1, "leaking-global", 'remember sets the global "last_ip", which nothing sets at the top level or in '
                              "setup(): its value leaks from one event into the next"),
        (2, "leaking-global", 'feedback sets the global "verdict", which nothing sets at the top level or in '
                              "setup(): its value leaks from one event into the next"),
    ]


def test_locals_and_globals_with_a_start_value_do_not_leak():
    assert warnings("""
        total = 0                              -- a start value at the top level: meant to carry over
        local conn
        function setup() conn = hiredis.connect(); seen = {} end
        local function helper(a, b) local c = a; c = b; return c end
        local M = {}
        function M.reset() M.n = 0 end         -- a field, not a global
        function M:bump() self.n = self.n + 1 end
        function loop(msg)
          local n, m = 1, 2
          n, m = m, n
          total = total + 1
          seen[msg.src_ip] = true
          local t = { a = 1, b = { c = 2 } }   -- table constructor keys
          for i = 1, 3 do local z = i; z = z + 1 end
          for k, v in pairs(t) do k = v end
          local f = function(x) x = x + 1; return x end
          repeat local r = 1; r = 2 until r == 2
          if n == 1 then local y; y = 1 elseif n == 2 then local y; y = 2 else local y; y = 3 end
          while false do local w; w = 1 end
          do local d; d = 1 end
          local function inner() n = 5 end     -- n is loop's local
          local s <const> = 1
          msg.x = helper(n, m)
        end
    """) == []


def test_a_local_out_of_scope_is_a_global_again():
    assert [w[0] for w in warnings("""
        function loop(msg)
          if msg.a then local v = 1 end
          v = 2
        end
    """)] == [3]


@pytest.mark.parametrize(("read", "write", "fix"), [
    ('conn:command("GET", "n:" .. msg.src_ip)', 'conn:command("SET", "n:" .. msg.src_ip, n + 1)', "INCRBY"),
    ('conn:command("HGET", key, "bytes")', 'conn:command("HSET", key, "bytes", n + 1)', "HINCRBY"),
    ('conn:command("hget", key, "bytes")', 'conn:command("hmset", key, "bytes", n + 1)', "HINCRBY"),
    ('conn:command("HGETALL", key)', 'conn:command("HSET", key, "mean", m)', "mle.shared unit"),
    ('conn:command("ZSCORE", "top", msg.src_ip)', 'conn:command("ZADD", "top", n + 1, msg.src_ip)', "ZINCRBY"),
    ('conn:command("SISMEMBER", "seen", name)', 'conn:command("SADD", "seen", name)', "SADD replies 1"),
    ('conn:command("EXISTS", key)', 'conn:command("SET", key, 1)', "SET key value NX"),
    ('conn:command("HEXISTS", key, f)', 'conn:command("HSET", key, f, 1)', "HSETNX"),
    ('conn:command_line("GET count:" .. t)', 'conn:command_line("SET count:" .. t .. " " .. n)', "INCRBY"),
    ('conn:command_line("HGET stats bytes")', 'conn:command_line("HSET stats bytes " .. n)', "HINCRBY"),
])
def test_a_read_then_a_write_of_the_same_key_is_flagged(read, write, fix):
    found = lint_source(f"local conn\nfunction loop(msg)\n  local n = {read}\n  if n then\n    {write}\n  end\nend\n")
    (w,) = found
    assert w.rule == "split-read-modify-write" and w.line == 5
    assert "(line 3) then" in w.message and "of the same key" in w.message
    assert fix in w.fix


@pytest.mark.parametrize("body", [
    'c:command("SADD", "s", x); c:command("SCARD", "s")',                 # a write, then a read: fine
    'c:command("GET", "a"); c:command("SET", "b", 1)',                     # different keys
    'c:command("HGET", "h", "x"); c:command("HSET", "h", "y", 1)',         # different fields
    'c:command("INCR", "n"); c:command("EXPIRE", "n", 60)',                # atomic update, then a TTL
    'c:command("GET", k)',                                                 # a read alone
])
def test_what_is_not_a_split_update_is_not_flagged(body):
    assert lint_source(f"local c\nfunction loop(msg)\n  {body}\nend\n") == []


def test_a_split_update_in_setup_runs_once_and_is_not_flagged():
    source = 'local c\nfunction setup()\n  local v = c:command("GET", "k")\n  c:command("SET", "k", 1)\nend\n'
    assert lint_source(source) == []


def test_mle_check_prints_each_warning_with_file_line_and_fix_and_still_succeeds(make_root):
    root = make_root('inputs = { { tag = "eve", uri = "file://eve.json", script = "route.lua" } }\n'
                     'outputs = { { tag = "out", uri = "file://out.json" } }\n',
                     inputs={"route.lua": "function loop(msg) mle.route(msg) end"},
                     analyzers={"counter.lua": """
                         analyzer = { event_types = "*" }
                         local c
                         function setup() c = hiredis.connect() end
                         function loop(msg)
                           local n = tonumber(c:command("GET", "n")) or 0
                           c:command("SET", "n", n + 1)
                           last = msg.event_type
                         end
                     """},
                     files={"eve.json": ""})
    checked = run_mle("check", "-r", str(root))
    err = checked.stderr.decode()
    assert checked.returncode == 0, err
    assert ("warning: analyzers/counter.lua:6: loop: GET (line 5) then SET of the same key \"n\": "
            "another event's update can fall in between") in err
    assert "  fix: one atomic INCRBY / INCRBYFLOAT (or a mle.shared unit) instead of GET + SET" in err
    assert 'warning: analyzers/counter.lua:7: loop sets the global "last"' in err
