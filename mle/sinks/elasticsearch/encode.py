"""Turning documents into bulk-request lines (pure functions, no network).

A bulk item is two lines: the action (``{"create":{"_index":"mle-2026.11.23","_id":"..."}}``)
and the document exactly as the engine rendered it (so 64-bit integers such as
``flow_id`` reach the cluster unchanged). A request body is the items joined by
newlines, ending with one, which the bulk API requires.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

Item = tuple[bytes, bytes]  # (action line, document), neither with a newline

TIME_FIELDS = ("@timestamp", "timestamp")


#: What MLE adds to an event: its annotation (``mle``) and, in ECS documents, the risk
#: score derived from it. They are left out of the event's identity.
ANNOTATIONS = ("mle", "event.risk_score")


def parse_document(document: bytes) -> Any:
    """The document's JSON value, or None when orjson cannot read it (not JSON, or an
    integer beyond 64 bits)."""
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        return None


def _without(value: dict, path: list[str]) -> dict:
    """``value`` without the field at ``path`` (dicts along the path are copied, nothing else)."""
    head = path[0]
    if head not in value:
        return value
    if len(path) == 1:
        return {k: v for k, v in value.items() if k != head}
    inner = value[head]
    if type(inner) is not dict:
        return value
    return {**value, head: _without(inner, path[1:])}


def document_id(document: bytes, ignore: Sequence[str] = ANNOTATIONS, value: Any = None) -> str:
    """The id of the event a document carries: the 128-bit BLAKE2b digest (URL-safe base64,
    22 characters) of its canonical form, which is the JSON with every object's keys in
    sorted order, compact, as orjson writes it, without the fields of ``ignore`` (dotted
    paths; MLE's annotations by default). The same event gets the same id in every run
    and process, whatever order its keys came in and whatever MLE's analyzers scored
    this time, so a re-sent or re-processed event is answered 409 (a duplicate) instead
    of being indexed twice. A document that is not a JSON object is hashed as it is.
    ``value``: the document already parsed (it is not changed).

    >>> document_id(b'{"b":2,"a":1}') == document_id(b'{"a":1,"b":2,"mle":{"scores":{"x":0.5}}}')
    True
    """
    if value is None:
        value = parse_document(document)
    if type(value) is dict:
        for path in ignore:
            value = _without(value, path.split("."))
        document = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(document, digest_size=16).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 timestamp (Suricata's ``2026-11-23T06:00:00.123456+0100`` included) as an
    aware datetime; naive times are UTC; None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def document_time(document: bytes, value: Any = None) -> datetime | None:
    """The document's own time: ``@timestamp`` (ECS) or ``timestamp`` (EVE). ``value``:
    the document already parsed."""
    if value is None:
        value = parse_document(document)
    if not isinstance(value, dict):
        return None
    for name in TIME_FIELDS:
        when = parse_time(value.get(name))
        if when is not None:
            return when
    return None


def index_for(pattern: str, when: datetime) -> str:
    """The index name for a document of time ``when``: strftime fields in UTC.

    >>> index_for("mle-%Y.%m.%d", parse_time("2026-11-23T23:30:00-0100"))
    'mle-2026.11.24'
    """
    return when.astimezone(UTC).strftime(pattern)


def action_line(action: str, index: str, doc_id: str | None) -> bytes:
    """``{"create":{"_index":"x","_id":"y"}}`` (no ``_id`` when None)."""
    meta: dict[str, str] = {"_index": index}
    if doc_id is not None:
        meta["_id"] = doc_id
    return orjson.dumps({action: meta})


class ActionEncoder:
    """Makes the action line of each document for one output's settings."""

    def __init__(self, action: str, index: str, with_ids: bool, id_ignore: Sequence[str] = ANNOTATIONS) -> None:
        self.action = action
        self.index = index
        self.with_ids = with_ids
        self.id_ignore = tuple(id_ignore)
        self.dated = "%" in index
        self._prefixes: dict[str, bytes] = {}
        self.time_fallbacks = 0  # dated index, document without a usable time: filed under "now"

    def _prefix(self, index: str) -> bytes:
        prefix = self._prefixes.get(index)
        if prefix is None:
            if len(self._prefixes) > 1024:
                self._prefixes.clear()
            prefix = orjson.dumps({self.action: {"_index": index}})[:-2]  # '{"create":{"_index":"x"'
            self._prefixes[index] = prefix
        return prefix

    def _index_of(self, document: bytes, value: Any, now: datetime | None) -> str:
        if not self.dated:
            return self.index
        when = document_time(document, value)
        if when is None:
            self.time_fallbacks += 1
            when = now or datetime.now(UTC)
        return index_for(self.index, when)

    def encode(self, document: bytes, now: datetime | None = None) -> bytes:
        value = parse_document(document) if self.dated or self.with_ids else None  # once for both
        prefix = self._prefix(self._index_of(document, value, now))
        if self.with_ids:
            return prefix + b',"_id":"' + document_id(document, self.id_ignore, value).encode() + b'"}}'
        return prefix + b"}}"

    def items(self, documents: Iterable[bytes]) -> list[Item]:
        now = datetime.now(UTC) if self.dated else None
        return [(self.encode(doc, now), doc) for doc in documents]


def item_size(item: Item) -> int:
    """Bytes the item takes in a request body (two lines with their newlines)."""
    return len(item[0]) + len(item[1]) + 2


def bulk_body(items: Sequence[Item]) -> bytes:
    """The NDJSON request body."""
    parts: list[bytes] = []
    for action, document in items:
        parts.append(action)
        parts.append(document)
    parts.append(b"")
    return b"\n".join(parts)


def split_body(body: bytes) -> list[Item]:
    """The items of a body made by :func:`bulk_body` (for a request read back from the spill)."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) % 2:
        raise ValueError("a bulk body has an action and a document per item")
    return list(zip(lines[0::2], lines[1::2], strict=True))
