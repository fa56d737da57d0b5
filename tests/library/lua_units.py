"""Run a stream of events through an analyzer inside the engine (a real worker, real
Redis) and collect what it wrote: the value tests of the anomaly and models units
feed the same stream to a unit and to its reference."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "in.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""

FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"

# Lua helpers the analyzers of these tests share: numbers leave as "%.17g" strings
# (exact), feature vectors arrive as JSON objects and become Lua tables.
PRELUDE = """
local function exact(v) return string.format("%.17g", v) end
local function vector(t)
  local x = {}
  for k, v in pairs(t) do x[k] = v end
  return x
end
"""


def run_analyzer(make_root: Callable, harness: Callable, source: str, events: Iterable[dict],
                 files: dict[str, str] | None = None, batch: int = 256, runtime: str = "lua54") -> list[dict]:
    """Push ``events`` (each gets an index ``i``) through an analyzer whose body is
    ``source`` (PRELUDE prepended) on ``runtime``; returns the output events in input order."""
    root = make_root(CONFIG, inputs={"in.lua": FORWARD}, analyzers={"a.lua": PRELUDE + source}, files=files)
    h = harness(root, runtime=runtime)
    lines = [orjson.dumps({**event, "i": n}) for n, event in enumerate(events)]
    for start in range(0, len(lines), batch):
        h.push(lines[start:start + batch])
    out = sorted(h.events("out"), key=lambda e: e["i"])
    errors = [e["mle"]["errors"] for e in out if "mle" in e and "errors" in e["mle"]]
    assert not errors, errors[:3]
    assert len(out) == len(lines)
    return out
