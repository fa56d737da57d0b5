"""The code base stays ruff-clean (CI runs this with the rest of the suite)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_check_passes():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "mle", "tests", "benchmarks"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
