"""Expected-event patterns: matching, the keys that differ, and lining up two lists.

A pattern matches an event when every key the pattern has matches: dicts
recursively (keys the pattern leaves out are not checked), lists of equal length
element by element, numbers within 1e-6 relative (integers exactly, so two large
``flow_id`` values never pass for equal), strings, booleans and null exactly.

>>> differences({"a": 1.0, "b": {"c": "x"}}, {"a": 1.0000001, "b": {"c": "y", "d": 2}, "e": 3})
[Difference(path='b.c', expected='x', got='y')]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RELATIVE_TOLERANCE = 1e-6
_MISSING = object()


@dataclass(frozen=True)
class Difference:
    """One key where the event is not what the pattern says (``got`` is MISSING when absent)."""

    path: str
    expected: Any
    got: Any

    @property
    def missing(self) -> bool:
        return self.got is _MISSING


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same_scalar(expected: Any, got: Any) -> bool:
    if _is_number(expected) and _is_number(got):
        if isinstance(expected, int) and isinstance(got, int):
            return expected == got
        return math.isclose(expected, got, rel_tol=RELATIVE_TOLERANCE)
    if type(expected) is not type(got):
        return False
    return bool(expected == got)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def differences(pattern: Any, event: Any, path: str = "") -> list[Difference]:
    """Every key of ``pattern`` whose value ``event`` does not match (empty: it matches)."""
    if isinstance(pattern, dict):
        if not isinstance(event, dict):
            return [Difference(path or "(event)", pattern, event)]
        found: list[Difference] = []
        for key, value in pattern.items():
            if key not in event:
                found.append(Difference(_join(path, key), value, _MISSING))
            else:
                found += differences(value, event[key], _join(path, key))
        return found
    if isinstance(pattern, list):
        if not isinstance(event, list) or len(event) != len(pattern):
            return [Difference(path, pattern, event)]
        pairs = enumerate(zip(pattern, event, strict=True))
        return [d for i, (p, e) in pairs for d in differences(p, e, _join(path, i))]
    return [] if _same_scalar(pattern, event) else [Difference(path, pattern, event)]


def matches(pattern: Any, event: Any) -> bool:
    """Whether ``event`` matches ``pattern`` (module docstring)."""
    return not differences(pattern, event)


@dataclass(frozen=True)
class Pairing:
    """One step of lining up expected patterns with produced events: both (they match,
    or they differ and ``matched`` is False), only an expected one (missing), or only a
    produced one (unexpected). Indexes are 0-based."""

    expected: int | None
    got: int | None
    matched: bool


def line_up(patterns: list[Any], events: list[Any],
            differ: Callable[[Any, Any], list[Difference]] = differences,
            same_event: Callable[[Any, Any], bool] = lambda pattern, event: True) -> list[Pairing]:
    """Pair patterns with events in order, matching as many as possible (a longest
    common subsequence; a pattern matches an event when ``differ`` finds nothing).
    Between two matched pairs, each leftover pattern pairs, as differing, with the next
    leftover event that ``same_event`` says it is about; the rest are missing or
    unexpected. So one missing event shows as one missing, not as every later one differing."""
    n, m = len(patterns), len(events)
    ok = [[not differ(p, e) for e in events] for p in patterns]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best[i][j] = best[i + 1][j + 1] + 1 if ok[i][j] else max(best[i + 1][j], best[i][j + 1])
    pairs: list[Pairing] = []
    gap_expected: list[int] = []
    gap_got: list[int] = []

    def close_gap() -> None:
        left = list(gap_got)
        for e in gap_expected:
            g = next((g for g in left if same_event(patterns[e], events[g])), None)
            if g is not None:
                left = left[left.index(g) + 1 :]
                gap_got.remove(g)
            pairs.append(Pairing(e, g, False))
        pairs.extend(Pairing(None, g, False) for g in gap_got)
        gap_expected.clear()
        gap_got.clear()

    i = j = 0
    while i < n and j < m:
        if ok[i][j] and best[i][j] == best[i + 1][j + 1] + 1:
            close_gap()
            pairs.append(Pairing(i, j, True))
            i, j = i + 1, j + 1
        elif best[i + 1][j] >= best[i][j + 1]:
            gap_expected.append(i)
            i += 1
        else:
            gap_got.append(j)
            j += 1
    gap_expected += range(i, n)
    gap_got += range(j, m)
    close_gap()
    return pairs
