#!/usr/bin/env python3
"""Updates per second of each unit of the ``mle`` Lua library inside the engine.

    python benchmarks/bench_library.py [--events 20000] [--only NAME...] [--runtime lua54|luajit]

One worker runs in this process (as bench_rounds.py) on the private Redis with the
engine's function libraries loaded, on batches of 256 events. For every unit found
under mle/lua/lib/<topic>/ (the conformance test's rule, so units added later appear
too) an analyzer updates the unit once per event: locally, and through its shared
variant when it has one (mle.shared.<Name> or the module mle.shared.<unit>; one
instance per key, 100 keys). A baseline
analyzer reads the same event fields and updates nothing. Printed: events/s (wall
clock, Redis included) and the unit's own cost, microseconds per update over the
baseline. For scale, an analyzer sending one plain HINCRBY per event; last, one
analyzer using three shared units (Var, HyperLogLog, InterArrival) per event, the
figure docs/library.md quotes.
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import orjson

from mle.config import load_config
from mle.deadletter import DeadLetterWriter
from mle.errors import ScriptLoadError
from mle.pipeline import connect_redis, start_redis
from mle.root import Root
from mle.worker import Worker

BATCH = 256
REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "mle" / "lua" / "lib"
HELPERS = {"util", "shared"}

CONFIG = """
inputs = { { tag = "in", uri = "file:///dev/null", default_analyzer = "bench" } }
analyzers = { { tag = "bench", script = "bench.lua", default_output = "out" } }
outputs = { { tag = "out", uri = "file:///dev/null" } }
mle = { workers = 0 }
"""

# how an analyzer feeds one unit per event, by kind (as tests/library/test_conformance.py)
FEED = """
local DEFAULT_KIND = { stats = "statistic", sketch = "sketch", drift = "drift", metrics = "metric",
                       anomaly = "anomaly", models = "classifier" }
local function model()
  local m = { n = 0, positives = 0 }
  function m:predict_proba_one() return self.n > 0 and self.positives / self.n or 0.5 end
  function m:learn_one(_, y) self.n = self.n + 1; if y then self.positives = self.positives + 1 end end
  return m
end
-- every analyzer (the baseline too) copies the event's fields into a table first
local function fields(msg)
  return { x = msg.x, t = msg.t, item = msg.item, host = msg.host, y = msg.y, p = msg.p, q = msg.q, side = msg.side }
end
local function feeder(Class, topic, u, keyed)
  local kind, input = Class.kind or DEFAULT_KIND[topic], Class.input
  local function call(verb, msg, ...)
    if keyed then return u[verb](u, msg.host, ...) end
    return u[verb](u, ...)
  end
  if kind == "statistic" then
    if input == "string" then return function(msg) call("update", msg, msg.item) end end
    if input == "timed" then return function(msg) call("update", msg, msg.x, msg.t) end end
    if input == "timed2" then return function(msg) call("update", msg, msg.x, msg.t, msg.side) end end
    return function(msg) call("update", msg, msg.x) end
  elseif kind == "sketch" then return function(msg) call("add", msg, msg.item) end
  elseif kind == "drift" then return function(msg) call("update", msg, msg.x) end
  elseif kind == "metric" then
    if input == "label" then return function(msg) call("update", msg, msg.y, msg.x > 50) end end
    return function(msg) call("update", msg, msg.y, msg.p) end
  elseif kind == "evaluator" or kind == "classifier" then
    return function(msg) call("score_learn", msg, {a = msg.p, b = msg.q}, msg.y) end
  elseif kind == "anomaly" then
    if input == "number" then return function(msg) call("score_learn", msg, msg.x) end end
    if input == "string" then return function(msg) call("score_learn", msg, msg.item) end end
    return function(msg) call("score_learn", msg, {a = msg.p, b = msg.q}) end
  elseif kind == "model" then return function(msg) call("predict_proba_one", msg, {a = msg.p, b = msg.q}) end
  elseif kind == "transformer" then return function(msg) call("transform_one", msg, {a = msg.p, b = msg.q}) end
  end
  error("no way to feed a unit of kind " .. tostring(kind))
end
"""

LOCAL = FEED + """
local Class = require "@MODULE@"
local options = {}
for k, v in pairs(Class.test_options or {}) do options[k] = v end
if Class.kind == "evaluator" then options.model = model() end
local update = feeder(Class, "@TOPIC@", Class(options), false)
function loop(msg) update(fields(msg)) end
"""

SHARED = FEED + """
local Class = require "@MODULE@"
local shared = require "mle.shared"
-- mle.shared's own (the statistics and sketches), else a module mle.shared.<unit>
local found, constructor = pcall(function() return shared[Class.name:gsub("^%w+%.", "")] end)
if not found or constructor == nil then
  found, constructor = pcall(require, "mle.shared." .. ("@MODULE@"):match("[%w_]+$"))
end
if not found or type(constructor) ~= "function" and type(constructor) ~= "table" then error("no shared variant") end
local options = { name = "bench", ttl = 3600 }
for k, v in pairs(Class.test_options or {}) do options[k] = v end
local update = feeder(Class, "@TOPIC@", constructor(options), true)
function loop(msg) update(fields(msg)) end
"""

BASELINE = FEED + """
function loop(msg) fields(msg) end
"""

ONE_COMMAND = FEED + """
local conn = hiredis.connect()
function loop(msg)
  msg = fields(msg)
  conn:command("HINCRBY", "bench:" .. msg.host, "n", 1)
end
"""

THREE_SHARED = FEED + """
local shared = require "mle.shared"
local bytes = shared.Var{name = "bytes", ttl = 3600}
local peers = shared.HyperLogLog{name = "peers", ttl = 3600}
local gaps = shared.InterArrival{name = "gaps", ttl = 3600}
function loop(msg)
  msg = fields(msg)
  bytes:update(msg.host, msg.x)
  peers:add(msg.host, msg.item)
  gaps:update(msg.host, msg.t)
end
"""


def discover() -> list[tuple[str, str]]:
    """(module, topic) of every unit, as the conformance test finds them."""
    return sorted((f"mle.{p.parent.name}.{p.stem}", p.parent.name) for p in LIBRARY.glob("*/*.lua")
                  if p.parent.name not in HELPERS)


def fill(template: str, module: str, topic: str) -> str:
    return template.replace("@MODULE@", module).replace("@TOPIC@", topic)


def events(n: int) -> list[bytes]:
    lines = []
    for i in range(n):
        lines.append(orjson.dumps({
            "x": 50 + (i * 7919 % 1000) / 20, "t": 1_700_000_000 + i * 0.01, "side": 1 + i % 2,
            "item": f"10.{i % 7}.{i * 31 % 251}.{i * 17 % 97}", "host": f"host{i % 100}",
            "y": i % 3 == 0, "p": (i * 37 % 100) / 100, "q": (i * 61 % 100) / 100,
        }))
    return lines


class Bench:
    """One private Redis (functions loaded) for every run; one worker per analyzer source."""

    def __init__(self, base: Path, runtime: str) -> None:
        self.base, self.runtime = base, runtime
        root = self._root("baseline", BASELINE)
        config = load_config(Root.locate(root), {"runtime": runtime})
        self.private, address = start_redis(config)
        self.pipe = connect_redis(config, address, threading.Event())

    def _root(self, name: str, source: str) -> Path:
        root = self.base / name
        (root / "analyzers").mkdir(parents=True, exist_ok=True)
        (root / "config.lua").write_text(CONFIG)
        (root / "analyzers" / "bench.lua").write_text(textwrap.dedent(source))
        return root

    def seconds(self, name: str, source: str, lines: list[bytes]) -> float:
        """Wall-clock seconds one worker takes for ``lines`` (raises if the script fails)."""
        root = self._root(name, source)
        config = load_config(Root.locate(root), {"runtime": self.runtime, "max_instructions": 0})
        worker = Worker(config, self.pipe, DeadLetterWriter(root / "dead-letter.jsonl"))
        worker.start()
        self.pipe.call("FLUSHALL")
        started = time.perf_counter()
        for i in range(0, len(lines), BATCH):
            worker.process(lines[i: i + BATCH], "in")
        elapsed = time.perf_counter() - started
        errors = [row for row in worker.script_stats() if row["n_err"]]
        if errors:
            raise RuntimeError(f"{name}: the analyzer failed on {errors[0]['n_err']} events")
        return elapsed

    def close(self) -> None:
        self.pipe.close()
        if self.private is not None:
            self.private.stop()


def report(bench: Bench, lines: list[bytes], only: list[str] | None, runtime: str) -> None:
    """Print the baseline, a row per unit, a plain command and the three-shared-units analyzer.
    Every figure is the best of two runs; the baseline is the best of one run per row."""
    n = len(lines)
    baselines = [bench.seconds("baseline", BASELINE, lines) for _ in range(3)]

    def best(name: str, source: str) -> float:
        baselines.append(bench.seconds("baseline", BASELINE, lines))
        return min(bench.seconds(name, source, lines) for _ in range(2))

    def row(seconds: float) -> str:
        return f"{n / seconds:15,.0f} {(seconds - min(baselines)) / n * 1e6:10.1f}"

    print(f"{n:,} events, {runtime}, one worker")
    print(f"{'unit':28s} {'local events/s':>15s} {'us/update':>10s} {'shared events/s':>16s} {'us/update':>10s}")
    for module, topic in discover():
        if only and not any(part in module for part in only):
            continue
        local = row(best(module, fill(LOCAL, module, topic)))
        try:
            shared = row(best(module + "-shared", fill(SHARED, module, topic)))
        except ScriptLoadError:  # no shared variant
            shared = f"{'-':>15s} {'-':>10s}"
        print(f"{module.removeprefix('mle.'):28s} {local} {shared}", flush=True)
    plain = best("one-command", ONE_COMMAND)
    print(f"{'(a plain HINCRBY per event)':28s} {'':26s} {row(plain)}")
    three = best("three", THREE_SHARED)
    print(f"one analyzer, three shared units (Var, HyperLogLog, InterArrival): {n / three:,.0f} events/s, "
          f"{(three - min(baselines)) / n * 1e6:.1f} us per event over the baseline")
    print(f"baseline (reads the fields, updates nothing): {n / min(baselines):,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--only", nargs="*", help="module names or parts of them (e.g. stats.var sketch)")
    parser.add_argument("--runtime", default="lua54", choices=["lua54", "luajit"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mle-bench-library-") as base:
        bench = Bench(Path(base), args.runtime)
        try:
            report(bench, events(args.events), args.only, args.runtime)
        finally:
            bench.close()


if __name__ == "__main__":
    main()
