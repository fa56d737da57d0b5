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
A line ``local NAME = include("stats/mean")`` is replaced by the module
``mle/lua/lib/stats/mean.lua`` (the one scripts get with ``require "mle.stats.mean"``)
wrapped in a function, so the engine and the server run the same algorithm: such a
module must return its table and use only what Redis's Lua 5.1 offers (``math``,
``string``, ``table``, ``cjson``, ``cmsgpack``, ``bit``).
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


def expand_includes(source: str) -> str:
    """Replace every ``local NAME = include("topic/unit")`` line by that library module."""
    library = resources.files("mle.lua").joinpath("lib")

    def module(match: re.Match[str]) -> str:
        path = library.joinpath(*f"{match.group(2)}.lua".split("/"))
        if not path.is_file():
            raise FileNotFoundError(f"include({match.group(2)!r}): no mle/lua/lib/{match.group(2)}.lua")
        return f"local {match.group(1)} = (function()\n{path.read_text(encoding='utf-8')}\nend)()"

    return INCLUDE.sub(module, source)


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
