"""Fixtures of the HTTP API tests: a running `mle run` with its API."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.http.helpers import start_engine


@pytest.fixture
def serving() -> Iterator[Callable[..., subprocess.Popen]]:
    """serving(root, *args) -> a running `mle run` serving its API on a free port (stopped at the end)."""
    started: list[subprocess.Popen] = []

    def start(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        process = start_engine(root, *args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
