"""The latest findings, for the status page: what analyzers reported, as written.

:class:`FindingScanner` looks at every document an output writes (the
``Delivery.tap``): a bytes search skips the documents without findings, and at
most ``per_second`` of the others are decoded into a compact record, so a flood
of findings costs little. :class:`FindingStore` keeps the most important of
them: up to ``capacity`` records, the lowest priority (then the oldest) making
room for a new one of at least its priority. The same event written to two
outputs is kept once.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import orjson

_MARK = b'"findings":[{'
_FIELDS = ("timestamp", "event_type", "src_ip", "src_port", "dest_ip", "dest_port", "proto")


def finding_record(document: dict[str, Any]) -> dict[str, Any] | None:
    """The compact record of a written document with findings, or None. ``flow_id`` is
    kept as a string: a browser's numbers cannot hold 64-bit flow ids."""
    annotation = document.get("mle")
    if not isinstance(annotation, dict) or not isinstance(annotation.get("findings"), list):
        return None
    findings = [
        {"analyzer": str(f.get("analyzer", "")), "score": f.get("score"), "reason": str(f.get("reason", ""))}
        for f in annotation["findings"] if isinstance(f, dict)
    ]
    if not findings:
        return None
    priority = annotation.get("priority")
    if not isinstance(priority, int | float):
        priority = max((f["score"] for f in findings if isinstance(f["score"], int | float)), default=0)
    record: dict[str, Any] = {"seen": time.time(), "priority": priority, "findings": findings}
    if document.get("flow_id") is not None:
        record["flow_id"] = str(document["flow_id"])
    for name in _FIELDS:
        if name in document and isinstance(document[name], str | int | float):
            record[name] = document[name]
    return record


class FindingScanner:
    """A ``Delivery.tap``: counts the documents with findings, decodes a few per second."""

    def __init__(self, per_second: int = 200, keep: int = 200) -> None:
        self.per_second = per_second
        self.seen = 0  # documents with findings written (one per output they went to)
        self.skipped = 0  # of those, not decoded (over the per-second budget)
        self._fresh: deque[dict[str, Any]] = deque(maxlen=keep)
        self._window = 0.0
        self._decoded = 0

    def __call__(self, lines: list[bytes]) -> None:
        for line in lines:
            if _MARK not in line:
                continue
            self.seen += 1
            now = time.monotonic()
            if now - self._window >= 1.0:
                self._window, self._decoded = now, 0
            if self._decoded >= self.per_second:
                self.skipped += 1
                continue
            self._decoded += 1
            try:
                document = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            record = finding_record(document) if isinstance(document, dict) else None
            if record is not None:
                self._fresh.append(record)

    def take(self) -> list[dict[str, Any]]:
        """The records decoded since the last call."""
        fresh = list(self._fresh)
        self._fresh.clear()
        return fresh


def _identity(record: dict[str, Any]) -> tuple:
    return (record.get("flow_id"), record.get("timestamp"), record.get("event_type"),
            tuple((f["analyzer"], f["reason"]) for f in record["findings"]))


class FindingStore:
    """The ``capacity`` most important recent findings (priority first, then time)."""

    def __init__(self, capacity: int = 100) -> None:
        self.capacity = capacity
        self._records: list[dict[str, Any]] = []
        self._keys: set[tuple] = set()

    def add(self, record: dict[str, Any]) -> bool:
        """Keep ``record`` unless it is already here or everything kept is more important."""
        key = _identity(record)
        if key in self._keys:
            return False
        if len(self._records) >= self.capacity:
            weakest = min(self._records, key=lambda r: (r["priority"], r["seen"]))
            if record["priority"] < weakest["priority"]:
                return False
            self._records.remove(weakest)
            self._keys.discard(_identity(weakest))
        self._records.append(record)
        self._keys.add(key)
        return True

    def latest(self) -> list[dict[str, Any]]:
        """The records kept, highest priority first, the newest first among equals."""
        return sorted(self._records, key=lambda r: (-r["priority"], -r["seen"]))
