"""The reference benchmark workload: gen_eve.py's events, generated once and cached."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def workload(events: int) -> Path:
    """The generated EVE file with ``events`` lines (seed 42; made once, then cached)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"eve-{events}.json"
    if not path.exists():
        print(f"generating {events:,} events into {path} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "gen_eve.py"), str(events), str(path)], check=True)
    return path
