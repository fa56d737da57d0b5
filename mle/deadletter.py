"""The dead-letter file: every input line or document the engine could not use.

One JSON object per line::

    {"time": "2026-11-23T06:00:00.123456+00:00", "source": "input eve", "reason": "not_json",
     "detail": "unexpected end of data: line 1 column 7 (char 6)", "bytes": 6, "line": "{\\"a\\":1"}

``line`` holds the original text; a line that is not UTF-8 is kept exactly as
``line_base64`` instead. Appends are flushed after every batch, so the file is
complete whenever the engine is not in the middle of a batch.
"""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import orjson


class DeadLetterWriter:
    """Append rejected records to a JSON-lines file (opened on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None
        self._lock = threading.Lock()
        self.count = 0

    def write(self, source: str, reason: str, detail: str, data: bytes | str) -> None:
        """Record one rejected line or document with the reason it was rejected."""
        entry: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(),
            "source": source,
            "reason": reason,
            "detail": detail,
        }
        if isinstance(data, str):
            entry["bytes"] = len(data.encode())
            entry["line"] = data
        else:
            entry["bytes"] = len(data)
            try:
                entry["line"] = data.decode("utf-8")
            except UnicodeDecodeError:
                entry["line_base64"] = base64.b64encode(data).decode()
        line = orjson.dumps(entry) + b"\n"
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("ab")
            self._file.write(line)
            self.count += 1

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
