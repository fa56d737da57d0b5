"""How events cross between Python and Lua, and how they leave as JSON.

Events stay Python dicts (from orjson). Lua reaches them through lupa's attribute
handlers: :func:`lua_getitem` (dict keys, 1-based list indexes, nothing else, so no
script can reach a Python attribute) and :meth:`EventTracker.lua_setitem`, which
records what a script changed. :meth:`EventTracker.render` then writes an event
whose only changes are new top-level keys (the usual annotation) as its original
bytes plus those keys: flow ids, numbers and every untouched field come out
byte-for-byte as they came in, and the common case costs no re-serialisation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

_dict_get = dict.get
_MAX_EXACT_FLOAT = 2.0**53


class JsonNull:
    """``cjson.null``: JSON null inside a Lua table (a plain nil would leave a hole)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "cjson.null"


JSON_NULL = JsonNull()


def lua_getitem(obj: Any, key: Any) -> Any:
    """lupa getter: ``msg.key`` on a dict, ``list[i]`` (1-based) on a list, nil for a
    missing key. Everything else is refused, which is the sandbox's wall."""
    try:
        return _dict_get(obj, key)
    except TypeError:
        pass
    if type(obj) is list:
        if type(key) is int and 0 < key <= len(obj):
            return obj[key - 1]
        return None
    raise AttributeError("this value cannot be indexed from Lua")


def lua_items(obj: Any) -> Any:
    """What ``pairs()`` iterates for a Python container (1-based keys for lists)."""
    if type(obj) is dict:
        return obj.items()
    if type(obj) is list:
        return enumerate(obj, 1)
    raise TypeError("pairs: this value is not a table")


def common_fields(event: Any) -> tuple:
    """``mle.fields``: the record's event_type, timestamp, flow_id, src_ip, src_port,
    dest_ip, dest_port, proto, app_proto and its flow, dns, tls, http and alert objects
    (nil where absent), in the order kernel.lua's K.fields takes them. Written out: half
    the time of ``tuple(map(event.get, names))``."""
    if type(event) is not dict:
        raise TypeError("mle.fields: the argument must be an event")
    get = event.get
    return (get("event_type"), get("timestamp"), get("flow_id"), get("src_ip"), get("src_port"),
            get("dest_ip"), get("dest_port"), get("proto"), get("app_proto"),
            get("flow"), get("dns"), get("tls"), get("http"), get("alert"))


def lua_len(obj: Any) -> int:
    """``#value``: the length of a list, 0 for a dict (as for a Lua hash table)."""
    return len(obj) if type(obj) is list else 0


def lua_number(value: float) -> float | int | None:
    """A Lua float as JSON wants it: integral values as integers (as LuaJIT and
    Dragonfly's cjson wrote them), NaN and infinities as null."""
    if value != value or value in (math.inf, -math.inf):
        return None
    if value.is_integer() and -_MAX_EXACT_FLOAT <= value <= _MAX_EXACT_FLOAT:
        return int(value)
    return value


def cjson_number(value: float) -> float | int | None:
    """:func:`lua_number` after rounding to 14 significant digits, as Dragonfly's cjson
    printed what scripts computed (``2/3`` -> ``0.66666666666667``): a Dragonfly root's
    outputs stay what its users compare against. Integers are never rounded."""
    if value.is_integer():
        return lua_number(value)
    if value != value or value in (math.inf, -math.inf):
        return None
    return lua_number(float(f"{value:.14g}"))


def _key_text(key: Any) -> str:
    """A JSON object key from a Lua key: strings and numbers only (``str()`` of a
    Lua table would run its ``__tostring``, i.e. script code, outside any budget)."""
    kind = type(key)
    if kind is str:
        return key
    if kind is float:
        key = lua_number(key)
        kind = type(key)
    if kind is bool:
        return "true" if key else "false"
    if kind is int or kind is float:
        return repr(key)
    raise ValueError("cannot serialise: table keys must be strings or numbers")


class EventTracker:
    """Tracks changes to the batch's events and renders values as JSON bytes.

    ``table_type`` is the lupa runtime's Lua table class (it differs between
    runtimes)."""

    #: Lua tables one rendering may visit (shared references expand exponentially)
    MAX_NODES = 100_000

    def __init__(self, table_type: type, max_bytes: int = 512 << 20, cjson_floats: bool = False) -> None:
        self._table_type = table_type
        self._number = cjson_number if cjson_floats else lua_number
        # per batch, by id() of the event dict: (event, original text); the new top-level
        # keys scripts added; the events whose original keys changed
        self.roots: dict[int, tuple[dict, bytes]] = {}
        self._roots = self.roots
        self._added: dict[int, list[str]] = {}
        self._modified: set[int] = set()
        self._fresh: dict[int, Any] = {}  # containers the engine created this batch (not in any raw line)
        self._nested_dirty = False
        self._nodes = 0
        self._max_bytes = max_bytes  # strings copied from Lua into events, per batch
        self._bytes = 0

    # batches ----------------------------------------------------------------------
    def begin_batch(self) -> None:
        """Forget the previous batch's events."""
        self._roots.clear()
        self._added.clear()
        self._modified.clear()
        self._fresh.clear()
        self._nested_dirty = False
        self._bytes = 0

    def fresh(self, container: Any) -> Any:
        """Mark a dict/list the engine created: changing it changes no original line."""
        self._fresh[id(container)] = container
        return container

    def track(self, event: dict, raw: bytes) -> None:
        """Remember ``raw`` (stripped, starts with ``{`` and ends with ``}``) as the
        original text of ``event``."""
        self._roots[id(event)] = (event, raw)

    # writes from Lua -------------------------------------------------------------------
    def lua_setitem(self, obj: Any, key: Any, value: Any) -> None:
        """lupa setter: ``msg.key = value`` (nil deletes) and ``list[i] = value``."""
        if type(value) is str:
            # the Python copy lives outside the Lua memory ceiling: count it
            self._bytes += len(value)
            if self._bytes > self._max_bytes:
                raise MemoryError("not enough memory")
        elif type(value) is float:
            value = self._number(value)
            if value is None:  # NaN/inf: written as null, the key stays
                value = JSON_NULL
        if type(obj) is dict:
            if type(key) is not str:
                key = _key_text(key)
            oid = id(obj)
            if oid in self._roots:
                if oid not in self._modified:
                    added = self._added.get(oid)
                    if added is not None and key in added:
                        if value is None:
                            added.remove(key)
                    elif key in obj:
                        self._modified.add(oid)
                    elif value is not None:
                        if added is None:
                            self._added[oid] = [key]
                        else:
                            added.append(key)
            elif oid not in self._fresh:
                self._nested_dirty = True
            if value is None:
                obj.pop(key, None)
            else:
                obj[key] = value
            return
        if type(obj) is list:
            if type(key) is not int or not 0 < key <= len(obj) + 1:
                raise IndexError(f"list index {key!r} out of range 1..{len(obj) + 1}")
            if id(obj) not in self._fresh:
                self._nested_dirty = True
            if key == len(obj) + 1:
                obj.append(value)
            else:
                obj[key - 1] = value
            return
        raise AttributeError("this value is read-only from Lua")

    # JSON out --------------------------------------------------------------------------
    def render(self, value: Any) -> bytes:
        """JSON text (no newline) of a value that left a script."""
        if type(value) is dict and not self._nested_dirty:
            oid = id(value)
            root = self._roots.get(oid)
            if root is not None and oid not in self._modified:
                added = self._added.get(oid)
                if not added:
                    return root[1]
                if len(added) == 1:  # the usual annotation: one key (no comprehension)
                    key = added[0]
                    extra = self._dumps({key: value[key]})  # b'{"k":v}'
                else:
                    extra = self._dumps({key: value[key] for key in added})
                if len(value) > len(added):
                    return root[1][:-1] + (b"," + extra[1:])  # one copy of the original, not two
                return extra
        return self._dumps(value)

    def _dumps(self, value: Any) -> bytes:
        self._nodes = 0
        try:
            return orjson.dumps(value, default=self._default)
        except orjson.JSONEncodeError as exc:
            if "Integer exceeds 64-bit range" not in str(exc):
                raise ValueError(f"cannot serialise value: {exc}") from None
            return json.dumps(
                value, default=self._default, ensure_ascii=False, separators=(",", ":")
            ).encode()

    def to_python(self, value: Any) -> Any:
        """A Lua value as Python data (the top level of a table becomes a dict or list)."""
        if type(value) is self._table_type:
            return self._default(value)
        if type(value) is float:
            return self._number(value)
        return value

    def _default(self, obj: Any) -> Any:
        """orjson's fallback: Lua tables become dicts or lists; anything else
        (cjson.null, functions, coroutines) becomes null."""
        if type(obj) is not self._table_type:
            return None
        self._nodes += 1
        if self._nodes > self.MAX_NODES:
            raise ValueError(f"cannot serialise: more than {self.MAX_NODES} tables (shared references?)")
        try:
            items = list(obj.items())
        except UnicodeDecodeError:
            raise ValueError("cannot serialise: a string is not valid UTF-8") from None
        if not items:
            return {}
        if type(items[0][0]) is int:
            n = len(items)
            if all(type(k) is int for k, _ in items):
                items.sort(key=_first)
                if items[0][0] == 1 and items[-1][0] == n:
                    number = self._number
                    return [v if type(v) is not float else number(v) for _, v in items]
        number = self._number
        return {(k if type(k) is str else _key_text(k)): (v if type(v) is not float else number(v)) for k, v in items}

    # annotations ------------------------------------------------------------------------
    def _annotation(self, event: dict) -> dict:
        annotation = event.get("mle")
        if type(annotation) is not dict:
            converted = self.to_python(annotation) if annotation is not None else {}
            annotation = self.fresh(converted if type(converted) is dict else {})
            self.lua_setitem(event, "mle", annotation)
        elif id(annotation) not in self._fresh:
            # the event arrived annotated (an upstream MLE): what is added below changes
            # its original text, so it must be written anew
            self._nested_dirty = True
        return annotation

    def _member(self, annotation: dict, key: str, kind: type) -> Any:
        value = annotation.get(key)
        if type(value) is not kind:
            converted = self.to_python(value) if value is not None else kind()
            value = self.fresh(converted if type(converted) is kind else kind())
            self.lua_setitem(annotation, key, value)
        return value

    def annotate(self, event: Any, analyzer: str, score: Any, reason: Any = None, priority: bool = False) -> float:
        """``mle.score`` / ``mle.finding``: record an analyzer's score in [0, 1] and,
        with a reason, a finding; ``priority`` is the highest finding score, unless
        ``priority`` is true (``mle.set_priority``): then the score is the priority."""
        if type(event) is not dict:
            raise TypeError("mle.score: the first argument must be an event")
        if type(score) not in (int, float) or score != score:
            raise TypeError("mle.score: the score must be a number")
        score = 1.0 if score > 1 else 0.0 if score < 0 else float(score)
        fresh = self._fresh
        annotation = event.get("mle")
        if annotation is None:  # the usual case: this event's first annotation
            scores = {analyzer: score}
            annotation = {"scores": scores}
            fresh[id(scores)] = scores
            fresh[id(annotation)] = annotation
            if reason is not None:
                if type(reason) is not str:
                    raise TypeError("mle.finding: the reason must be a string")
                findings = [{"analyzer": analyzer, "score": score, "reason": reason}]
                fresh[id(findings)] = findings
                annotation["findings"] = findings
            if reason is not None or priority:  # the first finding's score, or set_priority's
                annotation["priority"] = score
            self.lua_setitem(event, "mle", annotation)
            return score
        # a later score on an annotation this engine made (every analyzer after the
        # first, on nearly every event): straight into its scores
        if reason is None and not priority and type(annotation) is dict and id(annotation) in fresh:
            scores = annotation.get("scores")
            if type(scores) is dict:
                scores[analyzer] = score
                return score
        annotation = self._annotation(event)
        self._member(annotation, "scores", dict)[analyzer] = score
        if reason is not None:
            if type(reason) is not str:
                raise TypeError("mle.finding: the reason must be a string")
            self._member(annotation, "findings", list).append(
                {"analyzer": analyzer, "score": score, "reason": reason}
            )
            highest = annotation.get("priority")
            priority = priority or type(highest) not in (int, float) or highest < score
        if priority:  # a higher finding, or set_priority's decision
            annotation["priority"] = score
        return score

    def features(self, event: Any, analyzer: str, values: Any) -> None:
        """``mle.features`` (only when ``record_features`` is on): record the features an
        analyzer computed for this event under ``mle.features.<analyzer>``, for
        ``mle evaluate``'s batch baseline."""
        if type(event) is not dict:
            raise TypeError("mle.features: the first argument must be an event")
        converted = self.to_python(values)
        if type(converted) is not dict:
            raise TypeError("mle.features: the features must be a table {name = value}")
        self._member(self._annotation(event), "features", dict)[analyzer] = converted

    def annotate_error(self, event: Any, analyzer: str, hook: str, text: str) -> None:
        """Record that ``analyzer`` failed on this event (``mle.errors``)."""
        if type(event) is dict:
            self._member(self._annotation(event), "errors", list).append(
                {"analyzer": analyzer, "hook": hook, "error": text}
            )


def _first(pair: tuple) -> Any:
    return pair[0]
