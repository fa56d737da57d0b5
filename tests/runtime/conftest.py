"""The ``engine`` fixture: a running `mle run` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def engine(tmp_path) -> Iterator:
    """engine(root, *args, own_group=False) -> a running `mle run -r root *args` (killed at the end if
    still up); with own_group it leads a process group of its own, as under a service manager."""
    started: list[subprocess.Popen] = []

    def start(root: Path, *args: str, own_group: bool = False) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "mle", "run", "-r", str(root), *args], cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={**os.environ, "COLUMNS": "200"}, start_new_session=own_group)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
