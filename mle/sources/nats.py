"""``nats://[user:password@]host:port/SUBJECT``: EVE records from a NATS subject, as
Dragonfly MLE read them.

Each message is one record (or several newline-separated ones). The subject may
use NATS wildcards (``eve.*``, ``eve.>``). Options (also accepted as URI query
parameters where noted):

``queue``            queue group (``?queue=G``): several MLE processes share the messages
``user``/``password`` credentials (or in the URI); ``token`` an auth token (``nats://TOKEN@host``)
``ping_interval``    seconds of silence before MLE pings the server (default 30); no
                     answer within two more intervals means the connection is dead
``max_line_bytes``

The client is :mod:`mle.sources.natsclient` (why hand-written: see there). When the
connection breaks, the input reconnects with backoff (0.1 s doubling to 5 s) and
subscribes again, counting ``nats_reconnect``. Delivery: at most once (core NATS):
messages published while MLE is disconnected, or dropped by the server because
MLE was a slow consumer, are lost.
"""

from __future__ import annotations

import logging
import selectors
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sources.base import Batch
from mle.sources.faults import count_fault
from mle.sources.framing import split_record
from mle.sources.natsclient import NatsServer, NatsSubscriber
from mle.sources.selecting import SelectingSource

log = logging.getLogger("mle.input")

MAX_BACKOFF = 5.0


def parse_nats_uri(endpoint: Endpoint, options: Mapping[str, Any]) -> tuple[NatsServer, str, str | None]:
    """(server, subject, queue group) of a ``nats://`` URI and its options."""
    parts = urlsplit("nats://" + endpoint.rest)
    subject = unquote(parts.path.lstrip("/"))
    if not subject:
        raise ConfigError(f'{endpoint.label}: "nats://{endpoint.rest}" needs a subject, e.g. nats://127.0.0.1:4222/eve')
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"queue"}
    if unknown:
        raise ConfigError(f"{endpoint.label}: unknown URI parameter(s) {', '.join(sorted(unknown))} (known: queue)")
    try:
        port = parts.port or 4222
    except ValueError:
        raise ConfigError(f'{endpoint.label}: bad port in "nats://{endpoint.rest}"') from None
    user, password, token = options.get("user"), options.get("password"), options.get("token")
    if parts.username is not None and parts.password is None and token is None:
        token = unquote(parts.username)
    elif parts.username is not None and user is None:
        user, password = unquote(parts.username), unquote(parts.password or "")
    server = NatsServer(parts.hostname or "127.0.0.1", port, user, password, token)
    return server, subject, options.get("queue", query.get("queue"))


class NatsSource(SelectingSource):
    """Subscribes to a NATS subject; reconnects and resubscribes when the server goes away."""

    OPTIONS: Mapping[str, type | tuple] = {
        "max_line_bytes": int, "queue": str, "user": str, "password": str, "token": str,
        "ping_interval": float, "connect_timeout": float,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.server, self.subject, self.queue = parse_nats_uri(endpoint, opts)
        self.max_line_bytes = opts.get("max_line_bytes", context.max_line_bytes)
        self.ping_interval = opts.get("ping_interval", 30.0)
        self.messages = 0
        self.reconnects = 0
        self._client = NatsSubscriber(self.server, name=f"mle {tag}", connect_timeout=opts.get("connect_timeout", 5.0))
        self._client.subscribe(self.subject, self.queue)
        self._backoff = 0.0
        self._retry_at = 0.0
        self._pinged_at = 0.0

    @property
    def description(self) -> str:
        queue = f" (queue {self.queue})" if self.queue else ""
        return f"{self.server}/{self.subject}{queue}"

    def open(self) -> None:
        try:
            self._client.connect()
        except OSError as exc:
            where = f"{self.subject!r} at {self.server}"
            raise OSError(f"{self.endpoint.label}: cannot subscribe to {where}: {exc}") from None
        self._open_selector().register(self._client.fileno(), selectors.EVENT_READ, self._client)

    # connection ----------------------------------------------------------------------
    def _lost(self, exc: Exception) -> None:
        assert self._selector is not None
        if self._client.connected:
            self._selector.unregister(self._client.fileno())
            self._client.close()
            count_fault(self.stats, self.endpoint.label, "nats_disconnect", f"{self.server}: {exc}")
        self._backoff = min(max(self._backoff * 2, 0.1), MAX_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff

    def _reconnect(self) -> bool:
        assert self._selector is not None
        try:
            self._client.connect()
        except OSError as exc:
            self._lost(exc)
            return False
        self._selector.register(self._client.fileno(), selectors.EVENT_READ, self._client)
        self._backoff = 0.0
        self.reconnects += 1
        count_fault(self.stats, self.endpoint.label, "nats_reconnect", f"subscribed again at {self.server}")
        return True

    def _keepalive(self, now: float) -> None:
        silent = now - self._client.last_received
        if silent > 3 * self.ping_interval:
            raise ConnectionError(f"no answer from {self.server} for {silent:.0f} s")
        if silent > self.ping_interval and now - self._pinged_at > self.ping_interval:
            self._pinged_at = now
            self._client.ping()

    # reading --------------------------------------------------------------------------
    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            if self._guard.closing.is_set() or self._selector is None:
                return None
            lines, self._ready = self._ready, []
            received = 0
            deadline = time.monotonic() + timeout
            while len(lines) < max_lines and not self._guard.closing.is_set():
                now = time.monotonic()
                remaining = deadline - now
                if not self._client.connected and (now < self._retry_at or not self._reconnect()):
                    self._guard.wait(min(max(remaining, 0), self._retry_at - now))
                    break
                try:
                    self._keepalive(now)
                    events = self._selector.select(remaining if remaining > 0 else 0)
                    for key, _ in events:
                        if self._woken(key):
                            continue
                        for payload in self._client.receive():
                            self.messages += 1
                            received += len(payload)
                            lines.extend(split_record(payload, self.max_line_bytes))
                except OSError as exc:  # ConnectionError, NatsError
                    self._lost(exc)
                    continue
                if not events or remaining <= 0:
                    break
            return self.take(lines, max_lines, received)

    def _release_descriptors(self) -> None:
        self._client.close()
