"""Python values written as Lua source, so a generated config.lua says what a dict says.

>>> to_lua({"tag": "a", "limits": [1, 2.5, True]})
'{ ["tag"] = "a", ["limits"] = { 1, 2.5, true } }'
"""

from __future__ import annotations

import math
from typing import Any


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(value: int | float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "(0/0)"
        if math.isinf(value):
            return "math.huge" if value > 0 else "-math.huge"
    return repr(value)


def to_lua(value: Any) -> str:
    """``value`` (None, bool, int, float, str, list, dict with string keys) as a Lua
    expression. Raises TypeError for anything else."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "{ " + ", ".join(to_lua(v) for v in value) + " }" if value else "{}"
    if isinstance(value, dict):
        items = [f"[{_string(str(k))}] = {to_lua(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"cannot write a {type(value).__name__} as Lua")
