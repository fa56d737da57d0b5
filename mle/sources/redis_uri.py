"""Parsing ``redis://`` input URIs into a server address, a mode and a key.

::

    redis://[[user]:password@]host[:port]/MODE/KEY[?db=N&group=G&consumer=C&field=F]
    redis:///MODE/KEY?socket=/run/redis/redis.sock        (unix socket; relative = run dir)

MODE takes Suricata's ``eve-log`` ``redis.mode`` names, so the URI mirrors
``suricata.yaml``: ``list``/``lpush`` and ``rpush`` (a list; Suricata pushes left or
right and MLE pops the other end), ``channel``/``publish`` (pub/sub) and
``stream``/``xadd`` (a stream read by a consumer group). KEY defaults to
``suricata``, Suricata's default key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mle.connectors import Context, Endpoint
from mle.errors import ConfigError

MODES = {
    "list": ("list", "lpush"), "lpush": ("list", "lpush"), "rpush": ("list", "rpush"),
    "channel": ("channel", ""), "publish": ("channel", ""),
    "stream": ("stream", ""), "xadd": ("stream", ""),
}
QUERY_KEYS = ("db", "socket", "group", "consumer", "field", "push", "start")
DEFAULT_KEY = "suricata"


@dataclass(frozen=True)
class RedisTarget:
    """Where and what a Redis input reads."""

    mode: str  # "list", "channel" or "stream"
    key: str
    host: str = "127.0.0.1"
    port: int = 6379
    unix_socket: str | None = None
    username: str | None = None
    password: str | None = None
    db: int = 0
    push: str = "lpush"  # list mode: how Suricata pushes ("lpush" -> MLE pops right)

    def client_kwargs(self) -> dict[str, Any]:
        """Connection arguments for ``redis.Redis``."""
        auth = {"username": self.username, "password": self.password, "db": self.db}
        if self.unix_socket:
            return {"unix_socket_path": self.unix_socket, **auth}
        return {"host": self.host, "port": self.port, **auth}

    def __str__(self) -> str:
        where = f"unix:{self.unix_socket}" if self.unix_socket else f"{self.host}:{self.port}"
        return f"redis {where} db {self.db} {self.mode} {self.key!r}"


def parse_redis_uri(endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> tuple[RedisTarget, dict]:
    """The target of a ``redis://`` URI, and the query parameters merged under the
    entry's options (options win). Raises ConfigError naming the entry."""
    label = endpoint.label
    parts = urlsplit("redis://" + endpoint.rest)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments:
        raise ConfigError(f'{label}: "redis://{endpoint.rest}" needs a mode and a key, '
                          "e.g. redis://127.0.0.1:6379/list/suricata")
    mode_name = segments[0].lower()
    if mode_name not in MODES:
        raise ConfigError(f'{label}: unknown Redis mode "{segments[0]}" (known: {", ".join(MODES)})')
    mode, push = MODES[mode_name]
    key = "/".join(segments[1:]) or DEFAULT_KEY
    query: dict[str, Any] = {}
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        if name not in QUERY_KEYS:
            raise ConfigError(f'{label}: unknown URI parameter "{name}" (known: {", ".join(QUERY_KEYS)})')
        query[name] = values[-1]
    merged = {**query, **options}
    socket_path = merged.pop("socket", None)
    if socket_path:
        path = Path(socket_path)
        socket_path = str(path if path.is_absolute() else context.run_dir / path)
    db = merged.pop("db", 0)
    try:
        db = int(db)
        port = parts.port or 6379
    except ValueError:
        raise ConfigError(f'{label}: bad port or db in "redis://{endpoint.rest}"') from None
    if "push" in merged and mode != "list":
        raise ConfigError(f'{label}: "push" applies to Redis list inputs only')
    push = str(merged.pop("push", push or "lpush")).lower()
    if push not in ("lpush", "rpush"):
        raise ConfigError(f'{label}: "push" must be "lpush" or "rpush", not {push!r}')
    target = RedisTarget(
        mode=mode,
        key=key,
        host=parts.hostname or "127.0.0.1",
        port=port,
        unix_socket=socket_path,
        username=unquote(parts.username) if parts.username else None,
        password=merged.pop("password", None) or (unquote(parts.password) if parts.password else None),
        db=db,
        push=push,
    )
    return target, merged
