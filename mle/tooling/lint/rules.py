"""The lint rules: globals that leak from one event to the next, and Redis
read-modify-writes split over two commands where one atomic command or a ``mle``
library unit does the same."""

from __future__ import annotations

from mle.lua.analysis import Token
from mle.tooling.lint.redis_calls import RedisCall, redis_calls
from mle.tooling.lint.scopes import function_spans, global_writes
from mle.tooling.lint.warning import LintWarning

#: functions that run once, where a global gets its start value
_SETUP = "setup"

#: (read, write) -> the one-line fix. The pair is flagged when the write follows the
#: read of the same key (and the same hash field, where both name one) in one function.
SPLIT_UPDATES: dict[tuple[str, str], str] = {
    ("GET", "SET"): "one atomic INCRBY / INCRBYFLOAT (or a mle.shared unit) instead of GET + SET",
    ("GET", "SETEX"): "one atomic INCRBY / INCRBYFLOAT then EXPIRE (or a mle.shared unit with ttl)",
    ("GET", "PSETEX"): "one atomic INCRBY / INCRBYFLOAT then PEXPIRE (or a mle.shared unit with ttl)",
    ("HGET", "HSET"): "one atomic HINCRBY / HINCRBYFLOAT (or a mle.shared unit) instead of HGET + HSET",
    ("HGET", "HMSET"): "one atomic HINCRBY / HINCRBYFLOAT (or a mle.shared unit) instead of HGET + HMSET",
    ("HMGET", "HSET"): "keep the statistic in a mle.shared unit (one call per update) or HINCRBYFLOAT each field",
    ("HMGET", "HMSET"): "keep the statistic in a mle.shared unit (one call per update) or HINCRBYFLOAT each field",
    ("HGETALL", "HSET"): "keep the statistic in a mle.shared unit (one call per update) or HINCRBYFLOAT each field",
    ("HGETALL", "HMSET"): "keep the statistic in a mle.shared unit (one call per update) or HINCRBYFLOAT each field",
    ("ZSCORE", "ZADD"): "one atomic ZINCRBY instead of ZSCORE + ZADD",
    ("SISMEMBER", "SADD"): "drop SISMEMBER: SADD replies 1 when the member is new, 0 when it was there",
    ("EXISTS", "SET"): "one SET key value NX: it sets only a new key and says whether it did",
    ("HEXISTS", "HSET"): "one HSETNX: it sets only a new field and says whether it did",
}
_FIELD_READS = ("HGET", "HEXISTS")


def leaking_globals(tokens: list[Token]) -> list[LintWarning]:
    """Globals assigned in a per-event function (loop, feedback, format, a helper) that
    neither the top level nor setup() sets: the value of one event is still there for
    the next (and each worker has its own)."""
    writes = global_writes(tokens)
    defined = {w.name for w in writes if w.function in (None, _SETUP)}
    warnings = []
    reported: set[tuple[str, str]] = set()
    for w in writes:
        if w.function in (None, _SETUP) or w.name in defined or (w.name, w.function) in reported:
            continue
        reported.add((w.name, str(w.function)))
        warnings.append(LintWarning(
            w.line, "leaking-global",
            f'{w.function} sets the global "{w.name}", which nothing sets at the top level or in setup(): '
            "its value leaks from one event into the next",
            f'write "local {w.name}" in {w.function} (or, if it must carry over, give it a start value at the '
            "top level: each worker keeps its own)",
        ))
    return warnings


def _same_place(read: RedisCall, write: RedisCall) -> bool:
    if read.key is None or read.key != write.key:
        return False
    if read.name in _FIELD_READS and read.field is not None and write.field is not None:
        return read.field == write.field
    return True


def split_read_modify_writes(tokens: list[Token]) -> list[LintWarning]:
    """A read of a key followed, in the same per-event function, by a write of the same
    key that one atomic command (or a ``mle.shared`` unit) would do: another event's
    update can fall between the two (rounds run events side by side, and other workers
    share the key)."""
    calls = redis_calls(tokens)
    warnings = []
    for span in function_spans(tokens):
        if span.name == _SETUP:
            continue
        inside = [c for c in calls if span.start <= c.index < span.end]
        for k, read in enumerate(inside):
            for write in inside[k + 1:]:
                fix = SPLIT_UPDATES.get((read.name, write.name))
                if fix is not None and _same_place(read, write):
                    warnings.append(LintWarning(
                        write.line, "split-read-modify-write",
                        f"{span.name}: {read.name} (line {read.line}) then {write.name} of the same key {write.key}: "
                        "another event's update can fall in between",
                        fix,
                    ))
                    break
    return warnings
