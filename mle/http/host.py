"""The HTTP API of one engine: what it shows, what it asks the engine to do, its
token and its server. The engine creates one, calls :meth:`ApiHost.start` once
Redis is up and :meth:`ApiHost.stop` at the end, and feeds :attr:`state` and
serves :attr:`commands` from its main loop (:mod:`mle.runtime.api_bridge`).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import redis as redis_py

from mle.config import Config
from mle.errors import MLEError
from mle.http.address import format_listen
from mle.http.auth import TOKEN_FILE, Token, resolve_token
from mle.http.commands import CommandQueue
from mle.http.routes import Router
from mle.http.server import ApiServer
from mle.http.state import LiveState
from mle.redis.pipe import RedisAddress

log = logging.getLogger("mle.http")

URL_FILE = "http.url"  # the API's address, for scripts: curl "$(cat var/run/http.url)/health"
BODY_SLACK = 64 * 1024  # a verdict may carry an event of max_line_bytes, plus this


class ApiUnavailable(MLEError):
    """The API could not listen where it was told to."""

    exit_code = 1


class RedisProbe:
    """PING over a connection of its own (short timeouts), at most once a second."""

    def __init__(self, address: RedisAddress) -> None:
        self._client = redis_py.Redis(**address.redis_py_kwargs(), socket_timeout=1.0, socket_connect_timeout=1.0)
        self._lock = threading.Lock()
        self._last: tuple[float, bool, str] = (0.0, False, "")

    def check(self) -> tuple[bool, str]:
        """(answers, the error when it does not)."""
        with self._lock:
            when, ok, detail = self._last
            if time.monotonic() - when >= 1.0:
                try:
                    ok, detail = bool(self._client.ping()), ""
                except redis_py.RedisError as exc:
                    ok, detail = False, str(exc)
                self._last = (time.monotonic(), ok, detail)
            return ok, detail

    def close(self) -> None:
        self._client.close()


class ApiHost:
    """Everything the HTTP API of one engine needs. ``workers``: worker processes (0:
    one process). ``required``: a failure to listen stops the engine (an address the
    user chose); otherwise it is logged and the engine runs without the API."""

    def __init__(self, config: Config, listen: tuple[str, int], *, mode: str, workers: int,
                 required: bool = True) -> None:
        self.config = config
        self.listen = listen
        self.workers = workers
        self.required = required
        self.state = LiveState(mode=mode, workers=workers, root=str(config.root.path),
                               shard_key=config.engine.shard_key)
        self.commands = CommandQueue()
        self.token = Token("", "")
        self.redis: RedisProbe | None = None
        self.url = ""
        self._server: ApiServer | None = None

    def start(self, redis: RedisAddress) -> None:
        """Listen, write the token (if generated) and the URL to the run directory, log both."""
        run_dir = Path(self.config.run_dir)
        try:
            server = ApiServer(self.listen, Router(self).dispatch,
                               max_body=self.config.engine.max_line_bytes + BODY_SLACK)
        except OSError as exc:
            message = (f"HTTP API: cannot listen on {format_listen(*self.listen)}: {exc.strerror or exc}; "
                       "--http HOST:PORT chooses another address, --http off runs without it")
            if self.required:
                raise ApiUnavailable(message) from None
            log.error("%s", message)
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        self.token = resolve_token(self.config.engine.http_token, run_dir)
        self.redis = RedisProbe(redis)
        self._server = server
        server.start()
        self.url = server.url
        (run_dir / URL_FILE).write_text(self.url + "\n")
        log.info("HTTP API on %s (status page: %s/); POST requests need the token from %s",
                 self.url, self.url, self.token.origin)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None
        run_dir = Path(self.config.run_dir)
        (run_dir / URL_FILE).unlink(missing_ok=True)
        if self.token.origin == str(run_dir / TOKEN_FILE):
            (run_dir / TOKEN_FILE).unlink(missing_ok=True)
        if self.redis is not None:
            self.redis.close()
