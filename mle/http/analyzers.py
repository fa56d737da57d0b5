"""What ``/analyzers`` says about each analyzer, and Dragonfly's ``/www/<tag>.json``.

An analyzer's explanation document is ``<script>.md`` beside its script (MLE:
``analyzers/dns-tunnel.md`` for ``analyzers/dns-tunnel.lua``), or Dragonfly's
``www/<tag>.json`` in the root. Both are read when asked for, so an edit shows
at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from mle.config import Config

MAX_DOC = 256 * 1024
WWW_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.json")


def www_file(config: Config, name: str) -> Path | None:
    """``ROOT/www/<name>`` when ``name`` is a plain ``*.json`` file name that exists there."""
    if not WWW_NAME.fullmatch(name):
        return None
    path = config.root.path / "www" / name
    return path if path.is_file() else None


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_DOC:
            return None
        return path.read_bytes()
    except OSError:
        return None


def explanation(config: Config, tag: str, script: Path | None) -> dict[str, Any] | None:
    """The analyzer's document: ``{"path", "format": "markdown"|"json", "content"}``, or None."""
    candidates: list[tuple[Path, str]] = []
    if script is not None:
        candidates.append((script.with_suffix(".md"), "markdown"))
    www = www_file(config, f"{tag}.json")
    if www is not None:
        candidates.append((www, "json"))
    for path, kind in candidates:
        data = _read(path)
        if data is None:
            continue
        content: Any = data.decode(errors="replace")
        if kind == "json":
            try:
                content = orjson.loads(data)
            except orjson.JSONDecodeError:
                kind = "text"
        try:
            shown = str(path.relative_to(config.root.path))
        except ValueError:
            shown = str(path)
        return {"path": shown, "format": kind, "content": content}
    return None


def analyzer_rows(config: Config, counters: dict[str, Any], workers: int,
                  with_doc: bool = True) -> list[dict[str, Any]]:
    """One entry per configured analyzer: status, event types, counters, document."""
    rows = {row["tag"].lower(): row for row in counters.get("scripts", []) if row["kind"] == "analyzer"}
    failed = counters.get("load_errors", [])
    out = []
    for spec in config.analyzers:
        row = rows.get(spec.tag.lower(), {})
        quarantined = int(row.get("quarantined", 0))
        if not row:
            status = "starting"
        elif row.get("quarantined_types"):
            status = f"quarantined for {row['quarantined_types']} events (retried after a back-off)"
        elif quarantined:
            status = "quarantined" if quarantined >= max(workers, 1) else f"quarantined in {quarantined} workers"
        else:
            status = "running"
        errors = [e for e in failed if f'(tag "{spec.tag}")' in e]
        out.append({
            "tag": spec.tag,
            "script": str(spec.script.relative_to(config.root.path)) if spec.script is not None
            and spec.script.is_relative_to(config.root.path) else str(spec.script),
            "status": status,
            "load_errors": errors,
            "event_types": counters.get("event_types", {}).get(spec.tag),  # declared: analyzer = {event_types=...}
            "counters": {"in": row.get("n_in", 0), "out": row.get("n_out", 0), "errors": row.get("n_err", 0),
                         "redis_commands": row.get("n_redis", 0), "cpu_seconds": row.get("time", 0.0)},
        })
        if with_doc:
            out[-1]["doc"] = explanation(config, spec.tag, spec.script)
    return out
