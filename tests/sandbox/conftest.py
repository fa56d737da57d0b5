"""Fixtures for the sandbox attack tests.

Every attack runs in the same two-script pipeline:

    input "in" (pass-through) -> analyzer "a" (the attacker) -> output "out"
                                     | probes
                                     v
                                 analyzer "b" (a victim: an ordinary script) -> output "out"

The attacker's source defines ``attack(msg)`` (and whatever else it needs at the
top level); the loop around it is fixed: an event with ``"probe": true`` is
forwarded to the victim, anything else is attacked. A failing attack lands in "out" annotated
under ``mle.errors`` (the attacker's default_output). ``Pipeline.probe()`` then
proves the engine still processes events and that the victim, which exercises
the shared libraries, sees an untouched world.

Attacks that hang the worker today (the kernel running script code outside the
instruction budget, C-level work the count hook cannot interrupt, LuaJIT's compiled
loops) run in subprocess workers with a per-batch timeout: each module lists them
as ``Job``s and a module-scoped fixture runs them all at once (``run_jobs``), so
every hang costs its timeout once. The legitimate part of a batch takes a few ms;
the timeouts (1.5-3 s) only mark a batch as hung.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

BUDGET = 100_000

CONFIG = """
inputs = {{ {{ tag = "in", uri = "file://in.json", default_analyzer = "a" }} }}
analyzers = {{
  {{ tag = "a", script = "a.lua", default_output = "out"{a_opts} }},
  {{ tag = "b", script = "b.lua", default_output = "out" }},
}}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
mle = {{ max_instructions = {budget}, quarantine_after = {quarantine_after}{mle} }}
"""

ATTACKER_LOOP = """

local __analyze, __output = dragonfly.analyze_event, dragonfly.output_event
function loop(msg)
  if msg.probe then
    msg.attacker_saw_probe = true
    __analyze("b", msg)
    return
  end
  attack(msg)
  msg.attack_returned = true
  __output("out", msg)
end
"""

# An ordinary script: what it computes depends on every shared library a script
# could try to tamper with.
VICTIM = """
function loop(msg)
  msg.victim = {
    upper = ("abc"):upper(),
    rep = string.rep("ab", 2),
    fmt = string.format("%d-%s", 7, "x"),
    concat = table.concat({ 1, 2 }, ","),
    floor = math.floor(2.5),
    json = cjson.encode({ 1 }),
    decoded = cjson.decode('{"k":"v"}').k,
    null = tostring(cjson.decode("[null]")[1] == cjson.null),
    marshal = marshal.decode(marshal.encode({ m = 1 })).m,
    status = tostring(hiredis.status.OK == hiredis.OK) .. " " .. tostring(hiredis.OK),
    type_msg = type(msg),
    pcall = select(2, pcall(function() return 42 end)),
    epoch = dragonfly.date2epoch("2020-01-01T00:00:00Z"),
    mt = getmetatable("abc"),
  }
  dragonfly.output_event("out", msg)
end
"""

VICTIM_EXPECTED = {
    "upper": "ABC",
    "rep": "abab",
    "fmt": "7-x",
    "concat": "1,2",
    "floor": 2,
    "json": "[1]",
    "decoded": "v",
    "null": "true",
    "marshal": 1,
    "status": "true OK",
    "type_msg": "table",
    "pcall": 42,
    "epoch": 1577836800,
    "mt": "string",
}


def lua(source: str) -> str:
    return textwrap.dedent(source).strip("\n") + "\n"


def lua_bytes(data: bytes) -> str:
    """A Lua string literal holding exactly ``data``."""
    return '"' + "".join(f"\\{b}" for b in data) + '"'


def write_root(
    root: Path,
    attack: str,
    *,
    victim: str = VICTIM,
    a_opts: str = "",
    mle: str = "",
    budget: int = BUDGET,
    quarantine_after: int = 0,
    files: dict[str, str] | None = None,
    loop: bool = True,
) -> Path:
    """Write the attacker/victim root at ``root``. ``attack`` is the attacker's source (it defines
    attack(msg)); ``a_opts`` extra keys of the attacker's config entry (", allow_network = true");
    ``mle`` extra engine settings; ``files`` more files (relative path -> text)."""
    source = lua(attack) + (ATTACKER_LOOP if loop else "")
    config = CONFIG.format(a_opts=a_opts, budget=budget, quarantine_after=quarantine_after, mle=mle)
    texts = {"config.lua": config, "analyzers/a.lua": source, "analyzers/b.lua": lua(victim), **(files or {})}
    for name, text in texts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def sandbox_root(tmp_path: Path) -> Callable[..., Path]:
    """``sandbox_root(attack_source, **options)`` -> the root path (see :func:`write_root`)."""

    def build(attack: str, **options: Any) -> Path:
        return write_root(tmp_path / "root", attack, **options)

    return build


class Pipeline:
    """A started in-process worker running the attacker/victim pipeline."""

    def __init__(self, harness: Any) -> None:
        self.h = harness
        self.worker = harness.worker
        self.root: Path = harness.config.root.path
        self._next = 0

    def _id(self) -> int:
        self._next += 1
        return self._next

    def push(self, *events: dict) -> list[dict]:
        """Push events (one batch); returns, for each, the documents that reached "out"."""
        ids = []
        lines = []
        for event in events:
            i = self._id()
            ids.append(i)
            lines.append(json.dumps({"seq": i, **event}))
        self.h.push(lines)
        out = [e for e in self.h.events("out") if isinstance(e, dict)]
        return [[e for e in out if e.get("seq") == i] for i in ids]

    def attack(self, event: dict | None = None) -> dict:
        """Push one attack event; returns the one document it produced in "out"."""
        (docs,) = self.push({"attack": True, **(event or {})})
        assert len(docs) == 1, f"expected the attacked event once in the output, got {docs}"
        return docs[0]

    def errors(self, doc: dict) -> list[dict]:
        return doc.get("mle", {}).get("errors", [])

    def assert_contained(self, doc: dict, contains: str = "", n_err: int = 1) -> str:
        """The attack raised: annotated on the event, counted, nothing else reported it."""
        errors = self.errors(doc)
        assert len(errors) == 1, f"expected one error annotation, got {doc}"
        assert errors[0]["analyzer"] == "a" and errors[0]["hook"] == "loop", errors
        assert contains in errors[0]["error"], errors
        assert "attack_returned" not in doc
        assert self.stats("a")["n_err"] == n_err
        assert self.worker.engine_errors == 0
        return errors[0]["error"]

    def probe(self) -> dict:
        """A normal event after the attack still flows through both scripts, and the
        victim sees untouched libraries."""
        (docs,) = self.push({"probe": True})
        assert len(docs) == 1, f"the probe event did not reach the output exactly once: {docs}"
        doc = docs[0]
        assert doc.get("attacker_saw_probe") is True, doc
        assert "mle" not in doc, f"the probe event carries errors: {doc}"
        assert doc.get("victim") == VICTIM_EXPECTED
        assert self.worker.engine_errors == 0
        assert self.stats("b")["n_err"] == 0
        return doc

    def stats(self, tag: str) -> dict:
        return self.h.stats(tag)


@pytest.fixture
def sandbox(sandbox_root: Callable[..., Path], harness: Callable[..., Any]) -> Callable[..., Pipeline]:
    """``sandbox(attack_source, runtime="luajit", max_memory_mb=16, prepare=fn(root), **root_options)``
    -> a started Pipeline (``prepare`` runs on the written root before the worker starts)."""

    def start(attack: str, *, keep_going: bool = False, runtime: str | None = None,
              max_memory_mb: int | None = None, prepare: Callable[[Path], None] | None = None,
              **root_options: Any) -> Pipeline:
        root = sandbox_root(attack, **root_options)
        if prepare is not None:
            prepare(root)
        overrides = {k: v for k, v in (("runtime", runtime), ("max_memory_mb", max_memory_mb)) if v is not None}
        return Pipeline(harness(root, keep_going=keep_going, **overrides))

    return start


# --- attacks that may hang: a worker in a subprocess ---------------------------------------

CHILD = Path(__file__).with_name("isolated_worker.py")


@dataclass
class Isolated:
    """What a subprocess worker did before it finished or was killed."""

    hung: bool  # a batch did not finish within the timeout (the worker was killed)
    elapsed: float  # seconds the last batch ran (until it finished or was killed)
    batches: list[dict] = field(default_factory=list)  # one record per finished batch
    stderr: str = ""

    def out(self, batch: int) -> list[dict]:
        if batch >= len(self.batches):
            return []
        return [json.loads(line) for line in self.batches[batch]["lines"].get("1", [])]

    def stats(self, batch: int, tag: str) -> dict:
        return next(row for row in self.batches[batch]["stats"] if row["tag"] == tag)


def run_isolated(root: Path, batches: list[list[dict]], *, timeout: float, overrides: dict | None = None,
                 startup_timeout: float = 30.0) -> Isolated:
    """Run ``batches`` through a worker in a subprocess. ``timeout`` applies to each batch,
    counted once the worker has loaded its scripts (so a slow start on a busy machine
    is not mistaken for a hang)."""
    request = {
        "root": str(root),
        "overrides": overrides or {},
        "batches": [[json.dumps(event) for event in batch] for batch in batches],
    }
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen([sys.executable, str(CHILD)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=errors, cwd=REPO)
        lines: queue.Queue = queue.Queue()

        def reader() -> None:
            for line in proc.stdout:  # type: ignore[union-attr]
                lines.put(line)
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        proc.stdin.write(json.dumps(request).encode())  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
        records: list[dict] = []
        hung = False
        t0 = time.monotonic()
        while len(records) < len(batches) + 1:
            try:
                line = lines.get(timeout=timeout if records else startup_timeout)
            except queue.Empty:
                hung = True
                break
            if line is None:
                break
            if line.startswith(b"{"):
                records.append(json.loads(line))
                t0 = time.monotonic()
        elapsed = time.monotonic() - t0
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")[-4000:]
    assert records and records[0].get("started") is True, f"the worker did not start: {stderr}"
    result = Isolated(hung=hung, elapsed=elapsed, batches=records[1:], stderr=stderr)
    if not hung:
        assert len(result.batches) == len(batches), f"the worker died: {stderr}"
    return result


@dataclass
class Job:
    """An attack to run in a subprocess worker (see :func:`run_jobs`)."""

    attack: str
    batches: list[list[dict]]
    timeout: float = 1.5
    runtime: str | None = None
    max_memory_mb: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # write_root options


def run_jobs(base: Path, jobs: dict[str, Job]) -> dict[str, Isolated]:
    """Run every job in its own subprocess worker, all at once (hangs cost their timeout once,
    not once per test). Returns the results by name."""
    roots = {name: write_root(base / name, job.attack, **job.options) for name, job in jobs.items()}

    def run(name: str) -> Isolated:
        job = jobs[name]
        overrides = {k: v for k, v in (("runtime", job.runtime), ("max_memory_mb", job.max_memory_mb))
                     if v is not None}
        return run_isolated(roots[name], job.batches, timeout=job.timeout, overrides=overrides)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(run, name) for name in jobs}
        return {name: future.result() for name, future in futures.items()}


ATTACK_THEN_PROBE = [[{"probe": True}], [{"attack": True}], [{"probe": True}]]


def probe_ok(result: Isolated, batch: int) -> bool:
    """Did the probe event of ``batch`` go through the victim untouched?"""
    docs = [d for d in result.out(batch) if d.get("probe")]
    return len(docs) == 1 and docs[0].get("victim") == VICTIM_EXPECTED and "mle" not in docs[0]
