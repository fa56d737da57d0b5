"""Fixtures for the output tests: a connector context, real peers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mle.connectors import Context
from tests.outputs.helpers import NatsServer, Osmem, make_context


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    """A connector context with its dead-letter file at tmp_path/dead.jsonl."""
    return make_context(tmp_path)


@pytest.fixture(scope="session")
def osmem() -> Iterator[Osmem]:
    """One osmem-server for the session; tests use their own index names."""
    server = Osmem().start()
    yield server
    server.stop()


@pytest.fixture
def index() -> str:
    """A fresh index name."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def nats() -> Iterator[NatsServer]:
    server = NatsServer().start()
    yield server
    server.stop()
