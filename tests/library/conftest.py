"""Fixtures for the ``mle`` Lua library tests: Lua that uses the library runs in a
real worker (the engine's sandbox, Lua 5.4 or LuaJIT) on the session Redis, with the
engine's server-side function libraries loaded."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from mle.redis.functions import load_functions
from mle.redis.pipe import RedisPipe

RUNTIMES = ["lua54", "luajit"]

CONFIG = """
inputs = { { tag = "in", uri = "file://in.json", default_analyzer = "lib" } }
analyzers = { { tag = "lib", script = "lib.lua", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""

# the body runs as main(data), data being the event's "data" field copied into Lua
# tables; what it returns is the test's result. An error comes back with its message.
SCRIPT = """
local function main(data)
{body}
end
local function plain(v)
  if type(v) ~= "table" then return v end
  local t = {{}}
  for k, x in pairs(v) do t[k] = plain(x) end
  return t
end
function loop(msg)
  local ok, result = pcall(main, plain(msg.data))
  if ok then
    dragonfly.output_event("out", {{ result = result }})
  else
    dragonfly.output_event("out", {{ error = tostring(result) }})
  end
end
"""


class LuaError(Exception):
    """A Lua error raised by the code under test (the message as Lua gave it)."""


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on both runtimes the engine offers."""
    return request.param


@pytest.fixture
def functions(redis_pipe: RedisPipe) -> RedisPipe:
    """The session Redis with MLE's function libraries loaded (as the engine loads them at start)."""
    problems = load_functions(redis_pipe)
    assert problems == [], problems
    return redis_pipe


@pytest.fixture
def lua(make_root: Callable[..., Any], harness: Callable[..., Any]) -> Callable[..., Any]:
    """``lua(body, data, runtime=...)``: run ``body`` (the body of a Lua function of
    ``data``) once in a real worker and return what it returns, decoded from JSON.
    A Lua error raises :class:`LuaError`."""

    def run(body: str, data: Any = None, runtime: str = "lua54", **overrides: Any) -> Any:
        source = SCRIPT.format(body=textwrap.indent(textwrap.dedent(body), "  "))
        root = make_root(CONFIG, analyzers={"lib.lua": source})
        h = harness(root, runtime=runtime, max_instructions=0, **overrides)
        h.push([orjson.dumps({"data": data})])
        events = h.events("out")
        assert len(events) == 1, (events, h.dead())
        if "error" in events[0]:
            raise LuaError(events[0]["error"])
        return events[0].get("result")

    return run


@pytest.fixture
def two_workers(make_root: Callable[..., Any], harness: Callable[..., Any],
                functions: RedisPipe) -> Callable[..., tuple[Any, Any]]:
    """``two_workers(analyzer_source, runtime)`` -> two started harnesses on one root and
    the session Redis: two workers of the analyzer "lib" sharing its state."""

    def make(source: str, runtime: str = "lua54") -> tuple[Any, Any]:
        root = make_root(CONFIG, analyzers={"lib.lua": source})
        return harness(root, runtime=runtime), harness(root, runtime=runtime)

    return make
