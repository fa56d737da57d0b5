"""``redis://``: documents to a Redis list, pub/sub channel or stream.

URI forms, the same as the redis input's (MODE takes Suricata's ``redis.mode``
names: ``list``/``lpush``, ``rpush``, ``channel``/``publish``, ``stream``/``xadd``;
KEY defaults to ``suricata``, Suricata's default; everything after the mode is
the key, slashes included)::

    redis://[[user]:password@]host[:port]/MODE/KEY[?db=N&push=rpush&field=eve&maxlen=N]
    redis:///MODE/KEY?socket=/run/redis/redis.sock      (a unix socket; relative = run directory)
    redis:///run/redis/redis.sock/MODE/KEY              (the same, the socket path in the URI)

Options (override the URI's parameters): ``push`` ("lpush", Suricata's default:
consumers pop the oldest with RPOP/BRPOP; or "rpush"; the ``rpush`` mode sets it),
``maxlen`` (streams: ``XADD ... MAXLEN ~ N``, 0 = no trimming), ``field`` (stream
field name, default "eve" as Suricata's), ``socket``, ``user``, ``password``,
``db``, ``timeout`` (seconds per call, default 30), ``reconnect_max`` (backoff cap,
default 5 s).

One round trip per batch: a list batch is one ``MULTI``/``RPUSH``.../``EXEC``
(atomic: the batch is in the list whole or not at all), a stream batch one
transaction of ``XADD`` s, a channel batch one pipeline of ``PUBLISH`` es.

Delivery: at least once. :meth:`RedisSink.write_batch` returns when Redis
acknowledged the batch; while Redis is unreachable it retries with exponential
backoff and jitter and does not return, which stops the pipeline
(backpressure) until Redis is back. If a connection breaks after Redis applied a
batch but before the reply arrived, the batch is sent again (a duplicate). A
command Redis refuses (``WRONGTYPE``, out of memory) raises OSError: the engine
writes that batch to the dead-letter file. Pub/sub is Redis's at-most-once: a
message published while nobody subscribes reaches no one; those are counted in
``counts["unheard"]``.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sinks.address import parse_host_port, split_userinfo
from mle.sinks.backoff import Backoff, ThrottledLog
from mle.sinks.base import Sink

log = logging.getLogger("mle.sinks.redis")

# Suricata's redis.mode names -> (kind, push command implied)
MODES = {
    "list": ("list", None), "lpush": ("list", "lpush"), "rpush": ("list", "rpush"),
    "channel": ("channel", None), "publish": ("channel", None),
    "stream": ("stream", None), "xadd": ("stream", None),
}
QUERY_KEYS = {"db": int, "socket": str, "push": str, "field": str, "maxlen": int}
DEFAULT_KEY = "suricata"
LIST_CHUNK = 1000  # documents per RPUSH inside a batch's transaction
EXAMPLE = "redis://127.0.0.1:6379/list/suricata"
_SOCKET_MODE = re.compile(r"/(" + "|".join(MODES) + r")(/|$)")


@dataclass(frozen=True)
class RedisTarget:
    """Where and how to write, parsed from the URI."""

    kind: str
    name: str
    host: str | None = "127.0.0.1"
    port: int = 6379
    unix_socket: str | None = None
    db: int = 0
    user: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        server = self.unix_socket if self.unix_socket else f"{self.host}:{self.port}"
        return f"redis {self.kind} {self.name!r} on {server} db {self.db}"


def parse_redis_uri(rest: str, label: str, run_dir: Path = Path(".")) -> tuple[RedisTarget, dict[str, Any]]:
    """Parse what follows ``redis://``: the target, and the URI's parameters other than
    ``db`` and ``socket`` (``push``, ``field``, ``maxlen``; the mode may imply ``push``).

    >>> target, extra = parse_redis_uri("h:7000/rpush/a/b?db=2", "x")
    >>> (target.kind, target.name, target.host, target.port, target.db, extra)
    ('list', 'a/b', 'h', 7000, 2, {'push': 'rpush'})
    >>> parse_redis_uri("/xadd/eve?socket=/run/r.sock", "x")[0].unix_socket
    '/run/r.sock'
    >>> parse_redis_uri("/run/r.sock/channel/alerts", "x")[0].unix_socket
    '/run/r.sock'
    """
    rest, _, query_text = rest.partition("?")
    query: dict[str, Any] = {}
    for key, values in parse_qs(query_text, keep_blank_values=True).items():
        kind_of = QUERY_KEYS.get(key)
        if kind_of is None:
            raise ConfigError(f'{label}: unknown URI parameter "{key}" (known: {", ".join(QUERY_KEYS)})')
        value = values[-1]
        if kind_of is int and not value.isdigit():
            raise ConfigError(f'{label}: URI parameter "{key}" must be a number, not {value!r}')
        query[key] = int(value) if kind_of is int else value
    host: str | None = "127.0.0.1"
    port, user, password, socket_path = 6379, None, None, None
    if rest.startswith("/"):
        segments = rest.split("/")
        if len(segments) > 1 and segments[1].lower() in MODES:
            path = rest[1:]
        else:
            match = _SOCKET_MODE.search(rest)
            if match is None or match.start() == 0:
                raise ConfigError(f'{label}: "redis://{rest}" needs a mode and a key, e.g. {EXAMPLE} '
                                  "or redis:///list/suricata?socket=/run/redis/redis.sock")
            socket_path, path = rest[:match.start()], rest[match.start() + 1:]
    else:
        authority, _, path = rest.partition("/")
        user, password, hostport = split_userinfo(authority)
        address = parse_host_port(hostport, label, EXAMPLE, default_port=6379)
        host, port = address.host, address.port
    mode_name, _, name = path.partition("/")
    mode = MODES.get(mode_name.lower())
    if mode is None:
        raise ConfigError(f'{label}: unknown Redis mode "{mode_name}" in "redis://{rest}" '
                          f"(known: {', '.join(MODES)})")
    kind, push = mode
    socket_path = query.pop("socket", socket_path)
    if socket_path:
        path_obj = Path(socket_path)
        socket_path = str(path_obj if path_obj.is_absolute() else run_dir / path_obj)
        host = None
    target = RedisTarget(kind=kind, name=unquote(name) or DEFAULT_KEY, host=host, port=port,
                         unix_socket=socket_path or None, db=query.pop("db", 0), user=user, password=password)
    if push and "push" not in query:
        query["push"] = push
    return target, query


class RedisSink(Sink):
    """Push, publish or XADD each document; one round trip per batch."""

    OPTIONS: Mapping[str, type | tuple] = {
        "push": str, "maxlen": int, "field": str, "socket": str, "user": str, "password": str, "db": int,
        "timeout": float, "reconnect_max": float,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        target, query = parse_redis_uri(endpoint.rest, endpoint.label, context.run_dir)
        settings = {**query, **opts}
        if "socket" in opts:
            path = Path(opts["socket"])
            target = replace(target, unix_socket=str(path if path.is_absolute() else context.run_dir / path),
                             host=None)
        overrides = {k: settings[k] for k in ("user", "password", "db") if k in opts}
        self.target = replace(target, **overrides)
        self.push = str(settings.get("push", "lpush")).lower()
        if self.push not in ("lpush", "rpush"):
            raise ConfigError(f'{endpoint.label}: "push" must be "lpush" or "rpush", not {self.push!r}')
        if "push" in opts and self.target.kind != "list":
            raise ConfigError(f'{endpoint.label}: "push" applies to Redis lists only')
        self.maxlen: int = settings.get("maxlen", 0)
        if self.maxlen < 0:
            raise ConfigError(f'{endpoint.label}: "maxlen" must be 0 (no trimming) or positive')
        self.field: str = settings.get("field", "eve")
        self.timeout: float = opts.get("timeout", 30.0)
        self.reconnect_max: float = opts.get("reconnect_max", 5.0)
        self.counts: Counter[str] = Counter()
        self._client: redis.Redis | None = None
        self._warn = ThrottledLog(log)

    @property
    def description(self) -> str:
        return str(self.target)

    def open(self) -> None:
        t = self.target
        common: dict[str, Any] = {
            "db": t.db, "username": t.user, "password": t.password, "socket_timeout": self.timeout,
            "socket_connect_timeout": min(self.timeout, 5.0), "retry": Retry(NoBackoff(), 0),
        }
        if t.unix_socket:
            self._client = redis.Redis(unix_socket_path=t.unix_socket, **common)
        else:
            self._client = redis.Redis(host=t.host, port=t.port, socket_keepalive=True, **common)

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        assert self._client is not None, "open() first"
        backoff = Backoff(0.1, self.reconnect_max)
        while True:
            try:
                self._write(self._client, lines)
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.counts["retries"] += 1
                self._warn(logging.WARNING, "output %s: %s unreachable (%s); retrying, the pipeline waits",
                           self.tag, self.target, exc)
                time.sleep(backoff.next())
            except redis.ResponseError as exc:
                self.stats.errors["refused"] += len(lines)
                raise OSError(f"{self.endpoint.label}: {self.target} refused the batch: {exc}") from None
        if backoff.attempt:
            log.info("output %s: %s reachable again", self.tag, self.target)
            self._warn.reset()
        self.stats.lines += len(lines)
        self.stats.bytes += sum(len(line) for line in lines)

    def _write(self, client: redis.Redis, lines: list[bytes]) -> None:
        name, kind = self.target.name, self.target.kind
        if kind == "list":
            command = self.push.upper()
            pipe = client.pipeline(transaction=True)
            for i in range(0, len(lines), LIST_CHUNK):
                pipe.execute_command(command, name, *lines[i:i + LIST_CHUNK])
            pipe.execute()
        elif kind == "stream":
            trim = ("MAXLEN", "~", self.maxlen) if self.maxlen else ()
            pipe = client.pipeline(transaction=True)
            for line in lines:
                pipe.execute_command("XADD", name, *trim, "*", self.field, line)
            pipe.execute()
        else:
            pipe = client.pipeline(transaction=False)
            for line in lines:
                pipe.execute_command("PUBLISH", name, line)
            receivers = pipe.execute()
            self.counts["unheard"] += sum(1 for n in receivers if n == 0)
        self.counts["written"] += len(lines)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
