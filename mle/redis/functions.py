"""MLE's server-side functions: the Redis function libraries under ``mle/lua/redis/``.

Shared state of the ``mle`` Lua library (a Welford mean that every worker
updates, a Half-Space Tree in Redis, ...) changes by one atomic command per
update: ``FCALL mle_<name> numkeys key... arg...``. The engine loads these
libraries once at start (``FUNCTION LOAD REPLACE``), into the configured Redis or
its private one. Scripts may call functions whose names start with ``mle_``
without ``allow_eval`` (they are the engine's own, bounded code); every other
server-side script still needs it.

Each file is one library and starts with ``#!lua name=<library>``; its functions
are registered with ``redis.register_function`` and run on the server's Lua 5.1.
A line ``local NAME = include("stats/mean")`` gives ``NAME`` the module
``mle/lua/lib/stats/mean.lua`` (the one scripts get with ``require "mle.stats.mean"``),
so the engine and the server run the same algorithm. Included modules may
``require "mle.<topic>.<unit>"`` each other as they do in the engine: every module
an include needs (transitively) is pasted into the library as a loader behind a
small ``require``. Such modules must use only what Redis's Lua 5.1 offers (``math``,
``string``, ``table``, ``bit``, ``cjson``, ``cmsgpack``) and set no globals.

Valkey runs a library's top level with no globals at all (not even ``type``), so
modules cannot run while the library loads: the included names are filled in
when one of the library's functions is first called (``redis.register_function``
is wrapped to do that). A library's own top-level code must therefore leave the
included names alone; its callbacks may use them.
"""

from __future__ import annotations

import logging
import re
from importlib import resources

import hiredis

from mle.redis.pipe import RedisPipe

log = logging.getLogger("mle.redis")

FUNCTION_PREFIX = "mle_"


INCLUDE = re.compile(r'^local (\w+) = include\("([\w/]+)"\)[ \t]*$', re.MULTILINE)
REQUIRE = re.compile(r'\brequire\s*\(?\s*"(mle\.[\w.]+)"')

# defines `require` for the modules pasted below it (Redis's Lua has none), and a
# register_function whose callbacks first fill in the included names
PRELUDE = """local __mle_loaders, __mle_loaded, __mle_resolve = {}, {}, nil
local function require(name)
  local module = __mle_loaded[name]
  if module == nil then
    local loader = __mle_loaders[name]
    if loader == nil then error("module '" .. name .. "' is not included in this function library") end
    module = loader(name)
    __mle_loaded[name] = module
  end
  return module
end
local __mle_register_function = redis.register_function
local function __mle_register(spec, callback)
  local function resolved(f)
    return function(...)
      if __mle_resolve ~= nil then
        local resolve = __mle_resolve
        __mle_resolve = nil
        resolve()
      end
      return f(...)
    end
  end
  if callback == nil then
    spec.callback = resolved(spec.callback)
    return __mle_register_function(spec)
  end
  return __mle_register_function(spec, resolved(callback))
end
"""
REGISTER = re.compile(r"\bredis\.register_function\b")


def _module_source(name: str) -> str:
    """The source of library module ``mle.<topic>.<unit>``."""
    relative = name.removeprefix("mle.").replace(".", "/") + ".lua"
    path = resources.files("mle.lua").joinpath("lib", *relative.split("/"))
    if not path.is_file():
        raise FileNotFoundError(f"include of {name}: no mle/lua/lib/{relative}")
    return path.read_text(encoding="utf-8")


def _with_dependencies(names: list[str]) -> dict[str, str]:
    """Module name -> source for ``names`` and every module they require, transitively."""
    sources: dict[str, str] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in sources:
            sources[name] = _module_source(name)
            code = "\n".join(line.split("--", 1)[0] for line in sources[name].splitlines())
            pending += REQUIRE.findall(code)
    return sources


def expand_includes(source: str) -> str:
    """Paste the included modules (with what they require) as loaders after the
    library's first line; every ``local NAME = include("topic/unit")`` line declares
    NAME, filled in by the first call of one of the library's functions."""
    includes = INCLUDE.findall(source)
    if not includes:
        return source
    modules = _with_dependencies(["mle." + path.replace("/", ".") for _, path in includes])
    loaders = "".join(
        f'__mle_loaders["{name}"] = function(...)\n{text}\nend\n' for name, text in sorted(modules.items())
    )
    body = REGISTER.sub("__mle_register", INCLUDE.sub(lambda m: f"local {m.group(1)}", source))
    resolve = "".join(f'  {name} = require("mle.{path.replace("/", ".")}")\n' for name, path in includes)
    first, _, rest = body.partition("\n")
    return f"{first}\n{PRELUDE}{loaders}{rest}\n__mle_resolve = function()\n{resolve}end\n"


def function_libraries() -> dict[str, str]:
    """Library file name -> source (includes expanded), for every library the engine ships."""
    folder = resources.files("mle.lua").joinpath("redis")
    return {
        entry.name: expand_includes(entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".lua")
    }


def load_functions(pipe: RedisPipe) -> list[str]:
    """Load (or replace) every shipped library; returns one message per library that
    failed (a server without FUNCTION support, a syntax error), logged as well."""
    problems = []
    for name, source in function_libraries().items():
        reply = pipe.call("FUNCTION", "LOAD", "REPLACE", source)
        if isinstance(reply, hiredis.ReplyError):
            problems.append(f"{name}: {reply}")
            log.error("redis functions %s not loaded (shared mle units that need it will fail): %s", name, reply)
    return problems
