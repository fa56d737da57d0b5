"""Golden case outcomes as text a person reads: per failing event what was expected,
what came and which keys differ."""

from __future__ import annotations

from typing import Any

import orjson

from mle.tooling.caseconfig import merge
from mle.tooling.golden import Outcome, narrow, pattern_of
from mle.tooling.patterns import Difference

WIDTH = 400  # characters of a JSON document shown before it is cut


def _json(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def _value(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return f"{len(value)} item{'s' if len(value) != 1 else ''} {_json(value)}"
    return _json(value)


def _difference(d: Difference) -> str:
    if d.missing:
        return f"{d.path}: expected {_value(d.expected)}, missing"
    return f"{d.path}: expected {_value(d.expected)}, got {_value(d.got)}"


def _project(event: Any, pattern: Any) -> Any:
    """The parts of ``event`` the pattern names (dicts recursively)."""
    if isinstance(pattern, dict) and isinstance(event, dict):
        return {k: _project(event[k], v) for k, v in pattern.items() if k in event}
    return event


def _which(event: dict[str, Any]) -> str:
    parts = [str(event[k]) for k in ("event_type",) if k in event]
    parts += [f"{k} {event[k]}" for k in ("flow_id", "timestamp") if k in event]
    return ", ".join(parts) or "no event_type"


def _errors(event: dict[str, Any], tag: str) -> list[str]:
    errors = pattern_of(event, tag)["mle"].get("errors", [])
    return [f"    {tag} failed on this event ({e.get('hook')}): {e.get('error')}" for e in errors]


def describe(outcome: Outcome) -> list[str]:
    """Lines explaining a case's outcome: one line when it passed, the reasons when not."""
    case = outcome.case
    if outcome.error is not None:
        return [f"ERROR {case.label}: {outcome.error}"]
    if outcome.passed:
        return [f"ok    {case.label} ({len(outcome.pairs)} events)"]
    lines = [f"FAIL  {case.label}"]
    for pair in outcome.pairs:
        if pair.matched:
            continue
        if pair.expected is not None and pair.got is not None:
            pattern = outcome.patterns[pair.expected]
            event = outcome.produced[pair.got]
            lines.append(f"  expected #{pair.expected + 1} differs from produced #{pair.got + 1} ({_which(event)}):")
            lines += [f"      {_difference(d)}" for d in outcome.differences(pair)]
            shown = merge(pattern_of(event, case.tag), _project(narrow(event, case.tag, pattern), pattern))
            lines += [f"    expected: {_json(pattern)}", f"    got:      {_json(shown)}"]
            lines += _errors(event, case.tag)
        elif pair.expected is not None:
            pattern = outcome.patterns[pair.expected]
            lines.append(f"  expected #{pair.expected + 1} was not produced "
                         f"(no event annotated by {case.tag} matches it): {_json(pattern)}")
        else:
            assert pair.got is not None
            event = outcome.produced[pair.got]
            lines.append(f"  produced #{pair.got + 1} ({_which(event)}) is not in expected.json: "
                         f"{_json(pattern_of(event, case.tag))}")
            lines += _errors(event, case.tag)
    matched = sum(p.matched for p in outcome.pairs)
    lines.append(f"  {matched} of {len(outcome.patterns)} expected events matched; "
                 f"{len(outcome.produced)} events annotated by {case.tag}")
    return lines


def summary(outcomes: list[Outcome]) -> str:
    """One line: how many cases passed, and which did not."""
    failed = [o.case.label for o in outcomes if not o.passed]
    text = f"{len(outcomes)} case{'s' if len(outcomes) != 1 else ''}: {len(outcomes) - len(failed)} passed"
    return text + (f", {len(failed)} failed ({', '.join(failed)})" if failed else "")
