"""Run the original C engine (Dragonfly MLE) on a Dragonfly root and time it.

The engine is not part of this repository: benchmarks/README.md says how to rebuild it
outside (we use /tmp/dragonfly-mle). This module only starts a binary you built.

What it takes care of:
- Redis: a private valkey/redis-server on a unix socket (the binary MLE itself starts),
  given to the engine by ``redis_host = "<socket>"`` and ``redis_port = "0"`` at the top
  of a copy of the root's config/config.lua;
- its internal logs: it always writes them under /var/log/dragonfly-mle; it runs in a
  private mount namespace (``unshare -m``, root only) where /var/log is a scratch
  folder, so nothing lands in the real /var/log;
- the end: it never exits at the end of a file; it is stopped once its file output holds
  every event.

Events/s are counted from its first output line to its last (start-up excluded, as
MLE's own "in N s" excludes MLE's).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from mle.redis.server import PrivateRedis


def _count_lines(path: Path, state: dict[str, int]) -> int:
    """Newlines in a growing file, reading only what was appended since the last call."""
    try:
        with open(path, "rb") as file:
            file.seek(state.get("pos", 0))
            data = file.read()
    except FileNotFoundError:
        return 0
    state["pos"] = state.get("pos", 0) + len(data)
    state["n"] = state.get("n", 0) + data.count(b"\n")
    return state["n"]


def run(binary: Path, root: Path, output: Path, events: int, scratch: Path, timeout: float = 900.0) -> float:
    """Events/s of the C engine on ``root`` (a Dragonfly root whose file output is
    ``output``) until ``output`` holds ``events`` lines; raises if it stops short."""
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"--dragonfly {binary}: not an executable file")
    if shutil.which("unshare") is None or os.geteuid() != 0:
        raise SystemExit("--dragonfly needs root and unshare(1): the engine writes its logs to /var/log")
    var_log = scratch / "c-engine-var-log"
    (var_log / "dragonfly-mle").mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    with PrivateRedis(scratch / "c-engine-redis") as redis:
        config = root / "config/config.lua"
        original = config.read_text()
        config.write_text(f'redis_host = "{redis.socket_path}"\nredis_port = "0"\n' + original)
        command = ["unshare", "-m", "sh", "-c", f'mount --bind "{var_log}" /var/log && exec "{binary}" -r "{root}"']
        process = subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        state: dict[str, int] = {}
        first = last = None
        started = time.monotonic()
        try:
            while True:
                n = _count_lines(output, state)
                now = time.monotonic()
                if n and first is None:
                    first = now
                if n >= events:
                    last = now
                    break
                if process.poll() is not None or now - started > timeout:
                    break
                time.sleep(0.02)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            config.write_text(original)
    if first is None or last is None or last <= first:
        raise SystemExit(f"the C engine wrote {state.get('n', 0):,} of {events:,} lines to {output}")
    return (events - 1) / (last - first)
