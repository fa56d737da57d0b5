"""Shared fixtures: a real Redis (the engine's own private server), scratch roots,
in-process workers and the ``mle`` command as a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis as redis_py

from mle.config import load_config
from mle.deadletter import DeadLetterWriter
from mle.redis.pipe import RedisAddress, RedisPipe
from mle.redis.server import PrivateRedis
from mle.root import Root
from mle.worker import Worker

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisAddress]:
    """One private Redis for the whole session (the same server the engine starts)."""
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    address = server.start()
    yield address
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisAddress) -> Iterator[redis_py.Redis]:
    """redis-py client on the session server; the database is empty at the start of each test."""
    client = redis_py.Redis(**redis_server.redis_py_kwargs())
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def redis_pipe(redis_server: RedisAddress, redis_client: redis_py.Redis) -> Iterator[RedisPipe]:
    pipe = RedisPipe(redis_server)
    pipe.connect()
    yield pipe
    pipe.close()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def make_root(tmp_path: Path) -> Callable[..., Path]:
    """Write a root: ``make_root(config, inputs={name: source}, analyzers={...},
    outputs={...}, files={relpath: text}, layout="mle"|"dragonfly")``."""

    def make(
        config: str,
        inputs: dict[str, str] | None = None,
        analyzers: dict[str, str] | None = None,
        outputs: dict[str, str] | None = None,
        files: dict[str, str] | None = None,
        layout: str = "mle",
    ) -> Path:
        root = tmp_path / "root"
        dragonfly = layout == "dragonfly"
        _write(root / ("config/config.lua" if dragonfly else "config.lua"), config)
        for name, source in (inputs or {}).items():
            _write(root / ("filter" if dragonfly else "inputs") / name, source)
        for name, source in (analyzers or {}).items():
            _write(root / ("analyzer" if dragonfly else "analyzers") / name, source)
        for name, source in (outputs or {}).items():
            _write(root / "outputs" / name, source)
        for name, text in (files or {}).items():
            _write(root / name, text)
        return root

    return make


class Harness:
    """A started worker on a root, with helpers to push lines and read outputs."""

    def __init__(self, root: Path, redis: RedisPipe | None, keep_going: bool = False, **overrides: object) -> None:
        self.config = load_config(Root.locate(root), overrides)
        self.dead_letter_path = root / "dead-letters.jsonl"
        self.dead_letters = DeadLetterWriter(self.dead_letter_path)
        self.worker = Worker(self.config, redis, self.dead_letters, keep_going=keep_going)
        self.worker.start()
        self.outputs: dict[str, list[bytes]] = {}
        self._collect(self.worker.take_output())

    def _collect(self, result: object) -> None:
        tags = {spec.index: spec.tag for spec in self.config.outputs}
        tags.update({-1: "log", -2: "stats"})
        for index, lines in result.lines.items():  # type: ignore[attr-defined]
            self.outputs.setdefault(tags[index], []).extend(lines)

    def push(self, lines: list[bytes] | list[str], tag: str | None = None) -> None:
        """Run lines (one batch) through the input ``tag`` (default: the first input)."""
        raw = [line.encode() if isinstance(line, str) else line for line in lines]
        self._collect(self.worker.process(raw, tag or self.config.inputs[0].tag))
        self.dead_letters.flush()

    def events(self, tag: str) -> list[object]:
        """Decoded documents written to output ``tag`` so far."""
        return [orjson.loads(line) for line in self.outputs.get(tag, [])]

    def dead(self) -> list[dict]:
        if not self.dead_letter_path.exists():
            return []
        return [orjson.loads(line) for line in self.dead_letter_path.read_bytes().splitlines()]

    def stats(self, tag: str) -> dict:
        """Counters of the script with this tag."""
        for row in self.worker.script_stats():
            if row["tag"] == tag:
                return row
        raise KeyError(tag)


@pytest.fixture
def harness(redis_pipe: RedisPipe) -> Callable[..., Harness]:
    """``harness(root, **mle_overrides)`` -> a started :class:`Harness` using the session Redis."""

    def make(root: Path, keep_going: bool = False, **overrides: object) -> Harness:
        return Harness(root, redis_pipe, keep_going=keep_going, **overrides)

    return make


def run_mle(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict | None = None,
            input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run the ``mle`` command in a subprocess (the real CLI, real process). If it
    does not finish in ``timeout`` s, the test fails with every mle process's Python
    stacks (SIGUSR2) instead of a bare timeout."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "mle", *args],
        cwd=cwd or REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
    )
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in [process.pid, *descendants(process.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=2)  # collect the stacks (the engine keeps running)
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"mle {' '.join(args)} did not finish in {timeout} s; {len(stdout.splitlines())} lines "
                    f"on stdout; its processes' stacks and stderr:\n{stderr.decode(errors='replace')[-20000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``."""
    return [p for child in children(pid) for p in (child, *descendants(child))]


def summary_rows(stderr: bytes | str) -> dict[str, dict]:
    """The per-script table of an ``mle`` summary: tag -> {"kind", and each numeric column by
    its header: "in", "out", "dropped", "errors", "redis"}."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    rows: dict[str, dict] = {}
    header: list[str] = []
    for line in text.splitlines():
        if "┃" in line:
            header = [cell.strip() for cell in line.split("┃")]
            continue
        cells = [cell.strip() for cell in line.split("│")]
        if header and len(cells) >= 3 and cells[1] in ("input", "analyzer", "output"):
            row: dict = {"kind": cells[1]}
            for name, cell in zip(header[2:], cells[2:], strict=False):
                if name in ("in", "out", "dropped", "errors", "redis"):
                    row[name] = int(cell.replace(",", ""))
            rows[cells[0]] = row
    return rows
