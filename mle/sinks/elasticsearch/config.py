"""The Elasticsearch/OpenSearch output's settings, read from its URI and options (pure).

URI: ``elasticsearch+http(s)://[user:password@]HOST:PORT[/PREFIX]/INDEX`` (or
``opensearch+http(s)://``); INDEX may hold strftime fields (``mle-%Y.%m.%d``),
filled from each document's own time (``@timestamp``, else ``timestamp``, else
the time it is sent) in UTC. PREFIX is a path in front of the API (a proxy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sinks.address import parse_host_port
from mle.sinks.elasticsearch.encode import ANNOTATIONS

EXAMPLE = "elasticsearch+http://127.0.0.1:9200/mle-%Y.%m.%d"

OPTIONS: Mapping[str, type | tuple] = {
    "action": str,
    "doc_id": str,
    "id_ignore": (list, dict),  # a Lua table: {} arrives as an empty dict
    "data_stream": bool,
    "pipeline": str,
    "user": str,
    "password": str,
    "api_key": str,
    "ca_file": str,
    "verify": bool,
    "bulk_max_docs": int,
    "bulk_max_bytes": int,
    "flush_interval": float,
    "max_in_flight": int,
    "timeout": float,
    "retry_initial": float,
    "retry_max": float,
    "max_retries": int,
    "spill_dir": str,
    "spill_max_bytes": int,
    "close_timeout": float,
}

# what Elasticsearch refuses in an index name (besides upper case and a leading -, _ or +)
_BAD_INDEX = re.compile(r'[\\/*?"<>| ,#:]')


@dataclass(frozen=True)
class EsConfig:
    """Everything the sink needs; defaults are the documented ones."""

    base_url: str  # scheme://host:port[/prefix], no trailing slash
    index: str  # name or strftime pattern
    action: str = "create"
    doc_id: str = "hash"  # "hash": blake2b of the event's canonical form (encode.document_id); "none": the cluster's
    id_ignore: tuple[str, ...] = ANNOTATIONS  # fields (dotted paths) left out of the event's identity
    data_stream: bool = False
    pipeline: str | None = None
    user: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_file: str | None = None
    verify: bool = True
    bulk_max_docs: int = 1000
    bulk_max_bytes: int = 5 << 20
    flush_interval: float = 1.0
    max_in_flight: int = 4
    timeout: float = 60.0
    retry_initial: float = 0.5
    retry_max: float = 30.0
    max_retries: int = 5
    spill_dir: Path | None = None
    spill_max_bytes: int = 1 << 30
    close_timeout: float = 30.0

    @property
    def dated(self) -> bool:
        """True when the index name depends on each document's time."""
        return "%" in self.index

    @property
    def bulk_url(self) -> str:
        """The _bulk endpoint, asking only for what the sink reads of the answer."""
        query = "filter_path=errors,items.*.status,items.*.error"
        if self.pipeline:
            query += "&pipeline=" + quote(self.pipeline, safe="")
        return f"{self.base_url}/_bulk?{query}"

    @property
    def spill_enabled(self) -> bool:
        return self.spill_dir is not None and self.spill_max_bytes > 0


def parse_config(endpoint: Endpoint, options: Mapping[str, Any], context: Context, tag: str) -> EsConfig:
    """Validate the URI and options of one output entry. Raises ConfigError naming it."""
    label = endpoint.label
    opts = check_options(label, options, OPTIONS)
    family, _, transport = endpoint.scheme.partition("+")
    if transport not in ("http", "https"):
        raise ConfigError(f'{label}: "{endpoint.scheme}://" must be {family}+http:// or {family}+https://')
    authority, slash, path = endpoint.rest.partition("/")
    address = parse_host_port(authority, label, EXAMPLE, default_port=9200)
    prefix, _, index = path.rstrip("/").rpartition("/")
    if not slash or not index:
        raise ConfigError(f'{label}: "{endpoint.scheme}://{endpoint.rest}" names no index (e.g. {EXAMPLE})')
    _check_index(label, datetime.now(UTC).strftime(index) if "%" in index else index)
    host = f"[{address.host}]" if ":" in address.host else address.host
    base_url = f"{transport}://{host}:{address.port}" + (f"/{prefix}" if prefix else "")
    values: dict[str, Any] = {"base_url": base_url, "index": index, "user": address.user, "password": address.password}
    values.update(opts)
    if "id_ignore" in opts:
        values["id_ignore"] = _field_paths(label, opts["id_ignore"])
    if "spill_dir" in opts:
        spill_dir = Path(opts["spill_dir"])
        values["spill_dir"] = spill_dir if spill_dir.is_absolute() else context.root / spill_dir
    else:
        values["spill_dir"] = context.run_dir / "spill" / tag
    config = EsConfig(**values)
    _check(label, config)
    return config


def _field_paths(label: str, value: list | dict) -> tuple[str, ...]:
    """``id_ignore``: a list of dotted field paths (``{}``: none)."""
    items = list(value.values()) if isinstance(value, dict) and not value else value
    if not isinstance(items, list) or not all(isinstance(p, str) and p and "" not in p.split(".") for p in items):
        raise ConfigError(f'{label}: "id_ignore" must be a list of field names such as {{ "mle", "event.risk_score" }}')
    return tuple(items)


def _check_index(label: str, index: str) -> None:
    if index != index.lower() or _BAD_INDEX.search(index) or index[0] in "-_+":
        raise ConfigError(f'{label}: "{index}" is not a valid index name (lower case, no \\ / * ? " < > | , # : '
                          "or spaces, not starting with - _ +)")


def _check(label: str, c: EsConfig) -> None:
    if c.action not in ("create", "index"):
        raise ConfigError(f'{label}: "action" must be "create" or "index", not {c.action!r}')
    if c.doc_id not in ("hash", "none"):
        raise ConfigError(f'{label}: "doc_id" must be "hash" or "none", not {c.doc_id!r}')
    if c.data_stream and c.action != "create":
        raise ConfigError(f'{label}: a data stream only takes action = "create"')
    if c.data_stream and c.dated:
        raise ConfigError(f'{label}: a data stream name has no date pattern (the stream rolls over itself)')
    if c.api_key and (c.user or c.password):
        raise ConfigError(f'{label}: use either "api_key" or "user"/"password", not both')
    if c.password and not c.user:
        raise ConfigError(f'{label}: "password" needs "user"')
    if c.ca_file and not Path(c.ca_file).is_file():
        raise ConfigError(f'{label}: ca_file "{c.ca_file}" does not exist')
    if c.ca_file and not c.base_url.startswith("https:"):
        raise ConfigError(f'{label}: "ca_file" needs an https URI')
    for key in ("bulk_max_docs", "bulk_max_bytes", "max_in_flight"):
        if getattr(c, key) < 1:
            raise ConfigError(f'{label}: "{key}" must be at least 1')
    for key in ("flush_interval", "timeout", "retry_initial", "retry_max"):
        if getattr(c, key) <= 0:
            raise ConfigError(f'{label}: "{key}" must be positive')
    if c.retry_max < c.retry_initial:
        raise ConfigError(f'{label}: "retry_max" must not be less than "retry_initial"')
    if c.max_retries < 0 or c.spill_max_bytes < 0 or c.close_timeout < 0:
        raise ConfigError(f'{label}: "max_retries", "spill_max_bytes" and "close_timeout" must not be negative')
