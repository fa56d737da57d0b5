"""``redis://host:port/MODE/KEY``: EVE records Suricata sends to Redis
(``filetype: redis``), by list, channel or stream. URI syntax: :mod:`mle.sources.redis_uri`.

Modes and their delivery guarantee:

``list`` / ``lpush`` / ``rpush``
    Pops in batches (``RPOP key count``, or ``LPOP`` for ``rpush``, so records come
    out in the order Suricata pushed them), blocking with ``BRPOP``/``BLPOP`` when the
    list is empty. At most once: records popped but not yet written when MLE crashes
    are lost (use a stream for at-least-once). Nothing is lost while Redis or MLE
    is merely slow: the list grows.
``channel`` / ``publish``
    ``SUBSCRIBE`` (``PSUBSCRIBE`` with ``pattern = true``) on a raw connection parsed
    by hiredis (:mod:`mle.sources.redis_channel`). At most once: messages published
    while MLE is disconnected are gone (pub/sub keeps nothing).
``stream`` / ``xadd``
    Consumer group, acknowledged after the outputs accepted the batch: at least
    once (see :mod:`mle.sources.redis_stream`).

Options (URI query parameters where noted): ``socket`` (?socket=, a unix socket
path; relative = run dir), ``db`` (?db=), ``password``, ``push`` (?push=, list:
"lpush"/"rpush"), ``pattern`` (channel), ``group`` (?group=, default "mle"),
``consumer`` (?consumer=, default "<hostname>-<tag>": keep it stable so a restart
finds its pending entries), ``field`` (?field=, default "eve"), ``start`` (?start=,
where a new group starts: "0" the whole stream, default, or "$" new entries only),
``claim_idle_ms`` (default 60000; 0 disables XAUTOCLAIM), ``max_line_bytes``.

When the server goes away, the input reconnects with backoff (0.1 s doubling to
5 s), counting ``redis_disconnect`` and ``redis_reconnect``; it never stops.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sources.base import Batch, Source
from mle.sources.faults import count_fault
from mle.sources.framing import split_record
from mle.sources.guard import ReadGuard
from mle.sources.redis_channel import ChannelReader
from mle.sources.redis_stream import StreamReader
from mle.sources.redis_uri import parse_redis_uri

log = logging.getLogger("mle.input")

MIN_BLOCK = 0.05  # seconds a blocking pop/read waits when idle, at least ...
MAX_BLOCK = 0.25  # ... and at most (close() waits for it)
MAX_BACKOFF = 5.0
_CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class Reader(Protocol):
    """What each mode implements."""

    def setup(self) -> None:
        """Prepare after (re)connecting (subscribe, create the group ...)."""

    def read(self, max_lines: int, block: float) -> tuple[list[bytes], int, Callable[[], None] | None]:
        """(lines, bytes, on_done), waiting up to ``block`` s when nothing is there."""
        ...

    def close(self) -> None:
        """Release what the mode holds besides the shared client."""


class ListReader:
    """Batch pops from one end of a list."""

    def __init__(self, client: redis.Redis, key: str, push: str, max_line_bytes: int) -> None:
        self.client = client
        self.key = key
        self.max_line_bytes = max_line_bytes
        self.from_right = push == "lpush"  # Suricata LPUSHes: the oldest record is on the right

    def setup(self) -> None:
        """Nothing to prepare."""

    def read(self, max_lines: int, block: float) -> tuple[list[bytes], int, Callable[[], None] | None]:
        pop = self.client.rpop if self.from_right else self.client.lpop
        items = pop(self.key, max_lines) or []
        if not items and block > 0:
            blocking = self.client.brpop if self.from_right else self.client.blpop
            reply = blocking([self.key], timeout=block)
            if reply:
                items = [reply[1], *(pop(self.key, max_lines - 1) or [])] if max_lines > 1 else [reply[1]]
        lines: list[bytes] = []
        for item in items:
            lines.extend(split_record(item, self.max_line_bytes))
        return lines, sum(map(len, items)), None

    def close(self) -> None:
        """Nothing to release."""


class RedisSource(Source):
    """Reads a Redis list, channel or stream; reconnects when the server restarts."""

    OPTIONS: Mapping[str, type | tuple] = {
        "max_line_bytes": int, "socket": str, "db": int, "password": str, "push": str, "pattern": bool,
        "group": str, "consumer": str, "field": str, "start": str, "claim_idle_ms": int,
        "connect_timeout": float,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.target, extra = parse_redis_uri(endpoint, opts, context)
        self.max_line_bytes = extra.get("max_line_bytes", context.max_line_bytes)
        self.connect_timeout = extra.get("connect_timeout", 5.0)
        self.client = redis.Redis(
            **self.target.client_kwargs(),
            socket_timeout=MAX_BLOCK + 10,
            socket_connect_timeout=self.connect_timeout,
            retry=Retry(NoBackoff(), 0),  # this source reconnects itself, with backoff
            client_name=f"mle-{tag}",
        )
        self.reader: Reader = self._make_reader(tag, extra, context)
        self.reconnects = 0
        self._down = False  # the reader must be set up again before reading
        self._disconnected = False  # ... because the connection was lost
        self._backoff = 0.0
        self._retry_at = 0.0
        self._guard = ReadGuard()

    def _make_reader(self, tag: str, extra: dict, context: Context) -> Reader:
        target, label = self.target, self.endpoint.label
        mode_only = {"channel": {"pattern"}, "stream": {"group", "consumer", "field", "start", "claim_idle_ms"}}
        for mode, keys in mode_only.items():
            misplaced = keys & set(extra)
            if mode != target.mode and misplaced:
                raise ConfigError(f'{label}: "{sorted(misplaced)[0]}" applies to Redis {mode} inputs only')
        if target.mode == "list":
            return ListReader(self.client, target.key, target.push, self.max_line_bytes)
        if target.mode == "channel":
            return ChannelReader(target, extra.get("pattern", False), self.max_line_bytes, self.connect_timeout)
        start = str(extra.get("start", "0"))
        if start not in ("0", "$"):
            raise ConfigError(f'{label}: "start" must be "0" (whole stream) or "$" (new entries), not {start!r}')
        return StreamReader(
            self.client,
            target.key,
            group=str(extra.get("group", "mle")),
            consumer=str(extra.get("consumer", f"{socket.gethostname()}-{tag}")),
            field=str(extra.get("field", "eve")),
            start=start,
            claim_idle_ms=int(extra.get("claim_idle_ms", 60_000)),
            max_line_bytes=self.max_line_bytes,
            stats=self.stats,
            label=label,
            dead_letters=context.dead_letters,
            source_name=f"input {tag}",
        )

    @property
    def description(self) -> str:
        return str(self.target)

    def open(self) -> None:
        try:
            self.client.ping()
            self.reader.setup()
        except _CONNECTION_ERRORS as exc:
            raise OSError(f"{self.endpoint.label}: cannot reach {self.target}: {exc}") from None
        except redis.ResponseError as exc:
            raise ConfigError(f"{self.endpoint.label}: {self.target}: {exc}") from None

    # connection ----------------------------------------------------------------------
    def _lost(self, exc: Exception) -> None:
        self._down = True
        if not self._disconnected:
            self._disconnected = True
            count_fault(self.stats, self.endpoint.label, "redis_disconnect", f"{self.target}: {exc}")
        self.reader.close()
        self.client.connection_pool.disconnect()
        self._backoff = min(max(self._backoff * 2, 0.1), MAX_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff

    def _reconnect(self) -> bool:
        try:
            self.client.ping()
            self.reader.setup()
        except (*_CONNECTION_ERRORS, redis.ResponseError) as exc:  # LOADING while the server restarts
            self._lost(exc)
            return False
        self._down = False
        self._backoff = 0.0
        if self._disconnected:
            self._disconnected = False
            self.reconnects += 1
            count_fault(self.stats, self.endpoint.label, "redis_reconnect", f"{self.target} is back")
        return True

    # reading --------------------------------------------------------------------------
    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            if self._guard.closing.is_set():
                return None
            now = time.monotonic()
            if self._down and (now < self._retry_at or not self._reconnect()):
                self._guard.wait(min(timeout, max(self._retry_at - now, 0.0)))
                return Batch(self.tag, [])
            block = min(max(timeout, MIN_BLOCK), MAX_BLOCK) if timeout > 0 else 0.0
            try:
                lines, size, on_done = self.reader.read(max_lines, block)
            except _CONNECTION_ERRORS as exc:
                if self._guard.closing.is_set():
                    return None
                self._lost(exc)
                return Batch(self.tag, [])
            except redis.ResponseError as exc:
                self._response_error(exc)
                return Batch(self.tag, [])
            self.stats.lines += len(lines)
            self.stats.bytes += size
            return Batch(self.tag, lines, on_done=on_done, size=size)

    def _response_error(self, exc: redis.ResponseError) -> None:
        """A command was refused: NOGROUP (the server lost the group: set it up again)
        or e.g. WRONGTYPE (someone else uses the key): count, back off, retry."""
        if "NOGROUP" not in str(exc):
            count_fault(self.stats, self.endpoint.label, "redis_error", f"{self.target}: {exc}")
        self._down = True
        self._backoff = 0.0 if "NOGROUP" in str(exc) else min(max(self._backoff * 2, 0.1), MAX_BACKOFF)
        self._retry_at = time.monotonic() + self._backoff

    def close(self) -> None:
        self._guard.close(lambda: None, self._release)

    def _release(self) -> None:
        self.reader.close()
        if isinstance(self.reader, StreamReader):
            self.reader.closed = True
        self.client.connection_pool.disconnect()
