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
  every event (:func:`start`, :func:`wait_for_lines` and :func:`stop` are shared with
  dragonfly_compat.py, which runs the collection's bats tests on it).

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


class LineCounter:
    """Lines in a growing file, reading only what was appended since the last call."""

    def __init__(self, path: Path) -> None:
        self.path, self.read, self.lines = path, 0, 0

    def __call__(self) -> int:
        try:
            with open(self.path, "rb") as file:
                file.seek(self.read)
                data = file.read()
        except FileNotFoundError:
            return self.lines
        self.read += len(data)
        self.lines += data.count(b"\n")
        return self.lines


def start(binary: Path, root: Path, var_log: Path | None = None) -> subprocess.Popen:
    """The engine running on ``root``, in a session of its own. With ``var_log``, in a
    private mount namespace where that folder is /var/log (root and unshare(1) only)."""
    command = [str(binary), "-r", str(root)]
    if var_log is not None:
        command = ["unshare", "-m", "sh", "-c", f'mount --bind "{var_log}" /var/log && exec "{binary}" -r "{root}"']
    return subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for_lines(process: subprocess.Popen, path: Path, lines: int, timeout: float,
                   poll: float = 0.02) -> tuple[LineCounter, float | None, float | None]:
    """Poll ``path`` until it holds ``lines`` lines, the engine stops or ``timeout`` s pass.
    Returns the counter and when its first line and its ``lines``-th were seen (None: never)."""
    counter = LineCounter(path)
    first = None
    deadline = time.monotonic() + timeout
    while True:
        n = counter()
        now = time.monotonic()
        if n and first is None:
            first = now
        if n >= lines:
            return counter, first, now
        if process.poll() is not None or now > deadline:
            return counter, first, None
        time.sleep(poll)


def stop(process: subprocess.Popen) -> None:
    """Kill the engine and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


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
        process = start(binary, root, var_log)
        try:
            counter, first, last = wait_for_lines(process, output, events, timeout)
        finally:
            stop(process)
            config.write_text(original)
    if first is None or last is None or last <= first:
        raise SystemExit(f"the C engine wrote {counter.lines:,} of {events:,} lines to {output}")
    return (events - 1) / (last - first)
