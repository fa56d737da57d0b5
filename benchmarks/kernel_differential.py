#!/usr/bin/env python3
"""Two revisions of the engine, the same random pipelines: do they give the same results?

    python benchmarks/kernel_differential.py [--against HEAD] [--scenarios 300] [--seed 1]

For a change to the kernel or the sandbox that must not change what users see (a faster
path, a refactor). Each scenario is a random pipeline of 2-11 analyzers: routed ones on
random event types and orders, some `with_findings`, or (three in ten) an explicit
Dragonfly chain (default_analyzer -> ... -> default_output); some talk to Redis
(coroutines), some are sequential. They fail on one event type or on every n-th event,
make findings, hand events to other analyzers or re-route them, arm timers and take
analysts' verdicts.
The engine settings are random too (quarantine_after, the quarantine retry, the shard
key, Lua 5.4 or LuaJIT), and a few batches of random events go through, with timers
fired, verdicts and hand quarantines between them.

The working tree's ``mle`` and the one of ``--against`` (extracted with ``git archive``)
each run every scenario in a child process of their own against a private Redis. The
script prints every scenario whose outputs (in order), script counters, dead letters or
Redis strings differ, and exits 1 if any do.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TYPES = ["dns", "flow", "tls"]


def analyzer_source(rng: random.Random, name: str, names: list[str], chained: bool) -> str:
    """An analyzer (routed, or a link of an explicit chain) that does a random mix of
    what analyzers do."""
    types = '"*"' if rng.random() < 0.6 else "{ " + ", ".join(f'"{t}"' for t in rng.sample(TYPES, 2)) + " }"
    with_findings = ", with_findings = true" if rng.random() < 0.12 else ""
    order = rng.randint(1, 6)
    declaration = "" if chained else f"analyzer = {{ event_types = {types}, order = {order}{with_findings} }}"
    redis = rng.random() < 0.25
    lines = [declaration, "local conn = assert(hiredis.connect())" if redis else "", "local n = 0",
             "function loop(msg)", "  n = n + 1", "  local i = tonumber(msg.i) or 0"]
    if redis:
        lines.append(f'  msg["{name}_count"] = conn:command("INCR", "{name}:" .. tostring(msg.src_ip))')
    failure = rng.random()
    if failure < 0.25:
        lines.append(f'  if msg.event_type == "{rng.choice(TYPES)}" and not msg.fixed then error("fails") end')
    elif failure < 0.4:
        lines.append(f'  if i % {rng.randint(2, 4)} == 0 then error("fails on i") end')
    elif failure < 0.45:
        lines.append("  if i % 5 == 1 then while true do end end")
    if rng.random() < 0.25:
        lines.append(f'  if i % 3 == 1 then mle.finding(msg, 0.5, "{name} found") end')
    if rng.random() < 0.2:
        lines.append(f'  if i % 2 == 0 and (msg.sent or 0) < 3 then msg.sent = (msg.sent or 0) + 1; '
                     f'dragonfly.analyze_event("{rng.choice(names)}", msg) end')
    if rng.random() < 0.1:
        lines.append("  if i % 7 == 3 and not msg.rerouted then msg.rerouted = true; mle.route(msg) end")
    if rng.random() < 0.1:
        lines.append(f'  if i % 4 == 2 then dragonfly.timer_event("{rng.choice(names)}", 0, '
                     '{ event_type = "flow", i = i + 1000, src_ip = "timer" }) end')
    if rng.random() < 0.1:
        lines.append('  if i % 6 == 5 then dragonfly.output_event("out", { copy_of = i }) end')
    lines += ["  local seen = msg.seen or {}", f'  seen[#seen + 1] = "{name}" .. n', "  msg.seen = seen"]
    if chained:
        lines.append("  if default_analyzer then dragonfly.analyze_event(default_analyzer, msg) "
                     "else dragonfly.output_event(default_output, msg) end")
    lines.append("end")
    if rng.random() < 0.3:
        lines.append(f'function feedback(fb) n = n + 100; if fb.bad == "{name}" then error("feedback") end end')
    return "\n".join(lines) + "\n"


def write_root(rng: random.Random, root: Path) -> tuple[list[str], dict[str, Any]]:
    """A random scenario's root; returns its analyzers' tags and the engine settings."""
    names = [f"a{j}" for j in range(rng.randint(2, 11))]
    chained = rng.random() < 0.3
    entries = []
    for j, name in enumerate(names):
        sequential = ", sequential = true" if rng.random() < 0.2 else ""
        if chained:
            after, output = (names[j + 1], "") if j + 1 < len(names) else ("", "out")
            entries.append(f'{{ tag = "{name}", script = "{name}.lua", default_analyzer = "{after}", '
                           f'default_output = "{output}"{sequential} }}')
        elif sequential:
            entries.append(f'{{ tag = "{name}", script = "{name}.lua", default_analyzer = "", default_output = ""'
                           f"{sequential} }}")
    first = f', default_analyzer = "{names[0]}"' if chained else ""
    config = (f'inputs = {{ {{ tag = "eve", uri = "file://x", script = "input.lua"{first} }} }}\n'
              'outputs = { { tag = "out", uri = "file://out.json" } }\n'
              f'mle = {{ shard_key = "{rng.choice(["flow_id", "src_ip"])}" }}\n')
    if entries:
        config += "analyzers = { " + ", ".join(entries) + " }\n"
    (root / "inputs").mkdir(parents=True)
    (root / "analyzers").mkdir()
    (root / "config.lua").write_text(config)
    (root / "inputs" / "input.lua").write_text(
        "function loop(msg) if default_analyzer then dragonfly.analyze_event(default_analyzer, msg) "
        "else mle.route(msg) end end\n")
    for name in names:
        (root / "analyzers" / f"{name}.lua").write_text(analyzer_source(rng, name, names, chained))
    settings = {"quarantine_after": rng.choice([0, 1, 2, 3]), "quarantine_retry": rng.choice([0.0, 600.0]),
                "runtime": rng.choice(["lua54", "luajit"]), "max_instructions": 200_000}
    return names, settings


def run_scenario(rng: random.Random, base: Path, redis: Any, address: Any) -> dict[str, Any]:
    """Run one random scenario on the ``mle`` this process imported; what a user sees of it."""
    from mle.config import load_config
    from mle.deadletter import DeadLetterWriter
    from mle.redis.pipe import RedisPipe
    from mle.root import Root
    from mle.worker import Worker

    names, settings = write_root(rng, base / "root")
    config = load_config(Root.locate(base / "root"), settings)
    tags = {spec.index: spec.tag for spec in config.outputs}
    outputs: list[Any] = []

    def collect(result: Any) -> None:
        for index, lines in sorted(result.lines.items()):
            outputs.extend([tags.get(index, str(index)), json.loads(line)] for line in lines)

    redis.flushall()
    pipe = RedisPipe(address)
    pipe.connect()
    dead_letters = DeadLetterWriter(base / "dead.jsonl")
    worker = Worker(config, pipe, dead_letters)
    worker.start()
    collect(worker.take_output())
    actions: list[Any] = []
    i = 0
    for _ in range(rng.randint(1, 5)):
        batch = []
        for _ in range(rng.randint(1, 25)):
            i += 1
            event = {"i": i, "event_type": rng.choice([*TYPES, "x"]), "flow_id": rng.randint(1, 4),
                     "src_ip": rng.choice(["h1", "h2", "h3"])}
            if rng.random() < 0.3:
                event["fixed"] = True
            batch.append(json.dumps(event).encode())
        collect(worker.process(batch, "eve"))
        between = rng.random()
        if between < 0.3:
            collect(worker.fire_timers(math.inf))
        elif between < 0.45:
            taken, result = worker.feedback({"bad": rng.choice(names)})
            collect(result)
            actions.append(taken)
        elif between < 0.55:
            actions.append(worker.quarantine_tag("analyzer", rng.choice(names)))
    dead_letters.flush()
    pipe.close()
    counters = {row["tag"]: [row[k] for k in ("n_in", "n_out", "n_drop", "n_err", "quarantines",
                                               "quarantined_types", "quarantined")]
                for row in worker.script_stats()}
    strings = {key.decode(): redis.get(key).decode() for key in sorted(redis.keys("*"))
               if redis.type(key) == b"string"}
    dead = (base / "dead.jsonl").read_bytes().count(b"\n") if (base / "dead.jsonl").exists() else 0
    return {"settings": settings, "outputs": outputs, "counters": counters, "dead_letters": dead,
            "redis": strings, "actions": actions}


def child(side: Path, scenarios: int, seed: int, out: Path) -> None:
    """Run every scenario on the ``mle`` package under ``side``; one JSON line each."""
    import redis as redis_py

    import mle

    if Path(mle.__file__).resolve().parent != (side / "mle").resolve():
        sys.exit(f"expected the mle package of {side}, imported {mle.__file__}")
    from mle.redis.server import PrivateRedis

    logging.disable(logging.CRITICAL)  # scripts fail on purpose
    with tempfile.TemporaryDirectory(prefix="mle-diff-") as scratch, open(out, "w") as lines:
        server = PrivateRedis(Path(scratch) / "redis")
        address = server.start()
        client = redis_py.Redis(**address.redis_py_kwargs())
        try:
            for number in range(scenarios):
                base = Path(scratch) / f"s{number}"
                base.mkdir()
                record = run_scenario(random.Random(seed * 1_000_003 + number), base, client, address)
                lines.write(json.dumps(record, sort_keys=True) + "\n")
        finally:
            client.close()
            server.stop()


def run_side(side: Path, scenarios: int, seed: int, scratch: Path, label: str) -> list[dict]:
    out = scratch / f"{label}.jsonl"
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(side), str(scenarios),
                    str(seed), str(out)], cwd=scratch, env={**os.environ, "PYTHONPATH": str(side)}, check=True)
    return [json.loads(line) for line in out.read_text().splitlines()]


def first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two JSON values first differ, e.g. ``outputs[3][1].seen[2]: 'a1' != 'a2'``."""
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        return f"{path or '(top)'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return first_difference(x, y, f"{path}[{index}]")
    return f"{path}: {len(a)} items != {len(b)} items"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="HEAD", help="git revision to compare the working tree with")
    parser.add_argument("--scenarios", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        side, scenarios, seed, out = args.child
        child(Path(side), int(scenarios), int(seed), Path(out))
        return
    with tempfile.TemporaryDirectory(prefix="mle-differential-") as scratch_text:
        scratch = Path(scratch_text)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", args.against, "mle"],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:  # our own repository's files
            tar.extractall(scratch / "against")
        before = run_side(scratch / "against", args.scenarios, args.seed, scratch, "against")
        after = run_side(REPO, args.scenarios, args.seed, scratch, "working-tree")
    differ = [(n, a, b) for n, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    for number, a, b in differ:
        print(f"scenario {number} ({a['settings']}): {first_difference(a, b)}")
    events = sum(sum(1 for tag, _ in r["outputs"] if tag == "out") for r in after)
    print(f"{len(differ)} of {len(after)} scenarios differ between {args.against} and the working tree "
          f"(seed {args.seed}; {events:,} events written in all)")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
