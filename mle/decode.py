"""Turn raw EVE lines into records, classifying every line that is not one."""

from __future__ import annotations

from typing import Any

import orjson

#: Why a line was rejected; these are the dead-letter file's and the counters' codes.
REASONS = {
    "too_large": "line is longer than max_line_bytes",
    "not_utf8": "line is not valid UTF-8",
    "not_json": "line is not valid JSON",
    "not_object": "line is JSON but not an object",
}


class LineDecoder:
    """Decode lines of one input; a line that is not a JSON object yields a reason code."""

    __slots__ = ("max_line_bytes",)

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes

    def decode(self, line: bytes) -> tuple[dict[str, Any] | None, bytes, str, str]:
        """Return ``(record, raw, reason, detail)``: the record and its text stripped
        of surrounding whitespace, or ``None`` with a reason code and detail."""
        if len(line) > self.max_line_bytes:
            return None, line, "too_large", f"{len(line)} bytes or more, max_line_bytes is {self.max_line_bytes}"
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as uexc:
                return None, line, "not_utf8", str(uexc)
            return None, line, "not_json", str(exc)
        if type(record) is not dict:
            return None, line, "not_object", f"a JSON {type(record).__name__}"
        if line[:1] != b"{" or line[-1:] != b"}":
            line = line.strip()
        return record, line, "", ""
