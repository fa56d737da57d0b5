"""What every source and sink shares: URI parsing, options, the registry.

Connectors register under their URI schemes (``file``, ``tail``, ``unix`` ...)
with :func:`source` / :func:`sink` and are built from config entries by
:func:`build_source` / :func:`build_sink`. A connector's module is imported only
when a config uses its scheme, so optional dependencies stay optional.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mle.errors import ConfigError

if TYPE_CHECKING:
    from mle.deadletter import DeadLetterWriter
    from mle.sinks.base import Sink
    from mle.sources.base import Source

# scheme -> "module:Class"; modules register nothing at import, this table is the registry
SOURCE_TYPES: dict[str, str] = {
    "file": "mle.sources.file:FileSource",
    "zfile": "mle.sources.file:FileSource",
    "tail": "mle.sources.tail:TailSource",
    "unix": "mle.sources.unix:UnixStreamSource",
    "unixgram": "mle.sources.unix:UnixDatagramSource",
    "ipc": "mle.sources.unix:UnixDatagramSource",
    "tcp": "mle.sources.tcp:TcpSource",
    "redis": "mle.sources.redis:RedisSource",
    "zmq+tcp": "mle.sources.zmq:ZmqSource",
    "zmq+ipc": "mle.sources.zmq:ZmqSource",
    "nats": "mle.sources.nats:NatsSource",
    "stdin": "mle.sources.stdin:StdinSource",
}
SINK_TYPES: dict[str, str] = {
    "file": "mle.sinks.file:FileSink",
    "stdout": "mle.sinks.stdout:StdoutSink",
    "unix": "mle.sinks.socket:UnixStreamSink",
    "ipc": "mle.sinks.socket:UnixDatagramSink",
    "unixgram": "mle.sinks.socket:UnixDatagramSink",
    "tcp": "mle.sinks.socket:TcpSink",
    "redis": "mle.sinks.redis:RedisSink",
    "zmq+tcp": "mle.sinks.zmq:ZmqSink",
    "zmq+ipc": "mle.sinks.zmq:ZmqSink",
    "nats": "mle.sinks.nats:NatsSink",
    "elasticsearch+http": "mle.sinks.elasticsearch:ElasticsearchSink",
    "elasticsearch+https": "mle.sinks.elasticsearch:ElasticsearchSink",
    "opensearch+http": "mle.sinks.elasticsearch:ElasticsearchSink",
    "opensearch+https": "mle.sinks.elasticsearch:ElasticsearchSink",
}


@dataclass(frozen=True)
class Context:
    """Where relative paths of a connector resolve, and how the engine runs."""

    root: Path
    run_dir: Path
    log_dir: Path
    replay: bool = False  # finite sources end at EOF instead of following
    max_line_bytes: int = 1 << 20
    dead_letters: DeadLetterWriter | None = None  # where sinks put documents they cannot deliver


@dataclass(frozen=True)
class Endpoint:
    """A parsed URI: ``scheme://rest`` plus the entry it came from (for errors)."""

    scheme: str
    rest: str
    label: str

    @classmethod
    def parse(cls, uri: str, label: str) -> Endpoint:
        scheme, sep, rest = uri.partition("://")
        if not sep or not scheme:
            raise ConfigError(f'{label}: uri "{uri}" is not of the form scheme://...')
        return cls(scheme.lower(), rest, label)

    def path(self, base: Path) -> tuple[Path, str]:
        """The filesystem path of a ``file://``-like URI (relative to ``base``) and its
        Dragonfly suffix ("<" or ">" or "")."""
        rest, suffix = self.rest, ""
        if rest[-1:] in ("<", ">"):
            rest, suffix = rest[:-1], rest[-1]
        if not rest:
            raise ConfigError(f"{self.label}: {self.scheme}:// needs a path")
        path = Path(rest)
        return (path if path.is_absolute() else base / path), suffix


def check_options(label: str, options: Mapping[str, Any], allowed: Mapping[str, type | tuple]) -> dict:
    """Validate a connector's extra config keys: known names, right types."""
    out = {}
    for key, value in options.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            known = ", ".join(sorted(allowed)) or "none"
            raise ConfigError(f'{label}: unknown key "{key}"{hint}; this connector takes: {known}')
        expected = allowed[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected in (int, float)):
            raise ConfigError(f'{label}: "{key}" has the wrong type ({type(value).__name__})')
        out[key] = value
    return out


def _load(registry: Mapping[str, str], scheme: str, kind: str, label: str) -> type:
    target = registry.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(registry))
        raise ConfigError(f'{label}: unknown {kind} scheme "{scheme}://" (known: {known})')
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def build_source(tag: str, uri: str, options: Mapping[str, Any], label: str, context: Context) -> Source:
    """Create (not open) the source for an ``inputs`` entry."""
    endpoint = Endpoint.parse(uri, label)
    cls = _load(SOURCE_TYPES, endpoint.scheme, "input", label)
    return cls(tag, endpoint, options, context)


def build_sink(tag: str, uri: str, options: Mapping[str, Any], label: str, context: Context) -> Sink:
    """Create (not open) the sink for an ``outputs`` entry."""
    endpoint = Endpoint.parse(uri, label)
    cls = _load(SINK_TYPES, endpoint.scheme, "output", label)
    return cls(tag, endpoint, options, context)
