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
"""

from __future__ import annotations

import logging
from importlib import resources

import hiredis

from mle.redis.pipe import RedisPipe

log = logging.getLogger("mle.redis")

FUNCTION_PREFIX = "mle_"


def function_libraries() -> dict[str, str]:
    """Library file name -> source, for every library the engine ships."""
    folder = resources.files("mle.lua").joinpath("redis")
    return {
        entry.name: entry.read_text(encoding="utf-8")
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
