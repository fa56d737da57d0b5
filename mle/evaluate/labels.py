"""Where the labels of an evaluation come from, and what a label value means.

``--labels FIELD``: each record carries its own label in FIELD (a dotted path such as
``label`` or ``meta.class``); the field is removed from the record before any script
sees it.

``--labels FILE`` (an existing file): a CSV with a header naming a ``label`` column and
one key column, either ``line`` (the 1-based line number over the DATA files taken in
order, blank lines counted) or ``flow_id`` (every event of the flow gets the label).
The records are passed on untouched.

A label is malicious (1) or benign (0): booleans, numbers (non-zero is 1) and the words
in :data:`POSITIVE` and :data:`NEGATIVE` (any case). A missing field, ``null`` or an
empty cell leaves the event unlabeled: it runs through the engine, is not scored and
teaches nothing.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mle.errors import ConfigError

POSITIVE = frozenset({"1", "true", "yes", "malicious", "malware", "attack", "anomaly", "dga", "positive", "bad"})
NEGATIVE = frozenset({"0", "false", "no", "benign", "legit", "legitimate", "normal", "negative", "good"})


def label_value(value: Any, where: str = "label") -> int | None:
    """1 (malicious), 0 (benign) or None (unlabeled) for a label as found in the data."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value != 0)
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in POSITIVE:
            return 1
        if word in NEGATIVE:
            return 0
        try:
            return int(float(word) != 0)
        except ValueError:
            pass
    raise ConfigError(f"{where}: {value!r} is not a label (malicious: 1, true, malicious, dga, ...; "
                      "benign: 0, false, benign, legit, ...)")


@dataclass
class Labeled:
    """One line of the data, ready for the engine."""

    position: int  # 0-based over the DATA files, blank lines included
    line: bytes  # what the engine receives (the label field removed)
    label: int | None
    record: dict | None  # the decoded record (without its label), None for a line that is not one


def _pop_path(record: dict, path: list[str]) -> Any:
    node: Any = record
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node.pop(path[-1], None) if isinstance(node, dict) else None


class LabelSource:
    """Labels from a field of each record or from a CSV file (module docstring)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.field: list[str] | None = None
        self.by_line: dict[int, int | None] = {}
        self.by_flow: dict[int, int | None] = {}
        path = Path(spec)
        if path.is_file():
            self._read_file(path)
        else:
            if not spec or any(not part for part in spec.split(".")):
                raise ConfigError(f"--labels {spec!r}: neither a file nor a field name")
            self.field = spec.split(".")

    def describe(self) -> str:
        return f"field {self.spec!r}" if self.field else f"file {self.spec}"

    def _read_file(self, path: Path) -> None:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            if "label" not in columns or not ({"line", "flow_id"} & set(columns)):
                raise ConfigError(f"{path}: a labels file is a CSV with a header naming a 'label' column and a "
                                  f"'line' or 'flow_id' column (found: {', '.join(columns) or 'nothing'})")
            key = "line" if "line" in columns else "flow_id"
            target = self.by_line if key == "line" else self.by_flow
            for number, row in enumerate(reader, 2):
                where = f"{path}:{number}"
                try:
                    k = int(row[key])
                except (TypeError, ValueError):
                    raise ConfigError(f"{where}: {key} {row[key]!r} is not an integer") from None
                target[k] = label_value(row["label"], where)

    def label(self, position: int, record: dict | None) -> int | None:
        """The label of the record at ``position``; with a field, the field is removed."""
        if self.field is not None:
            if record is None:
                return None
            return label_value(_pop_path(record, self.field), f"line {position + 1}: {self.spec}")
        if self.by_line:
            return self.by_line.get(position + 1)
        flow = record.get("flow_id") if record is not None else None
        return self.by_flow.get(flow) if isinstance(flow, int) else None


def _open(name: str) -> Any:
    with open(name, "rb") as f:
        magic = f.read(2)
    return gzip.open(name, "rb") if magic == b"\x1f\x8b" else open(name, "rb")


def read_labeled(files: list[str], labels: LabelSource) -> Iterator[Labeled]:
    """Every line of ``files`` (plain or .gz JSON lines) with its label, in order."""
    position = 0
    for name in files:
        with _open(name) as f:
            for raw in f:
                line = raw.rstrip(b"\r\n")
                record = None
                if line.startswith(b"{"):
                    try:
                        decoded = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        decoded = None
                    record = decoded if isinstance(decoded, dict) else None
                label = labels.label(position, record)
                if record is not None and labels.field is not None:
                    line = orjson.dumps(record)
                yield Labeled(position, line, label, record)
                position += 1
