"""An analyst's verdict on an event (``POST /feedback``): checked, then routed to
the worker that owns the event's shard, where ``Worker.feedback`` hands it to every
analyzer that defines ``feedback(fb)``.

    {"flow_id": 1778159332693385, "verdict": "malicious", "analyzer": "dns-tunnel", "note": "..."}
    {"event": {...the EVE record...}, "verdict": "benign"}

The worker is the one the source sends that flow to (the same sharder, on the
same key), so an analyzer's Lua variables for that flow are where the verdict
arrives, and the verdict runs after the events the worker already took.
"""

from __future__ import annotations

from typing import Any

import orjson

from mle.runtime.shard import make_sharder

VERDICTS = ("malicious", "benign")
FIELDS = ("flow_id", "event", "verdict", "analyzer", "note")
MAX_NOTE = 4096


class BadVerdict(ValueError):
    """The request body is not a usable verdict (the message says why)."""


def parse_verdict(body: bytes, analyzers: list[str]) -> dict[str, Any]:
    """The verdict table the analyzers receive (``fb`` in ``feedback(fb)``): ``verdict``,
    ``flow_id`` (from the request or the event), ``event``, ``analyzer``, ``note``.
    Raises :class:`BadVerdict`."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadVerdict(f"the body is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise BadVerdict("the body must be a JSON object, e.g. {\"flow_id\": 123, \"verdict\": \"malicious\"}")
    unknown = [key for key in request if key not in FIELDS]
    if unknown:
        raise BadVerdict(f"unknown field {unknown[0]!r} (expected {', '.join(FIELDS)})")
    verdict = request.get("verdict")
    if verdict not in VERDICTS:
        raise BadVerdict(f'"verdict" must be "malicious" or "benign", not {verdict!r}')
    out: dict[str, Any] = {"verdict": verdict}
    if "event" in request:
        if not isinstance(request["event"], dict) or not request["event"]:
            raise BadVerdict('"event" must be the EVE record (a non-empty JSON object)')
        out["event"] = request["event"]
    flow_id = request.get("flow_id", out.get("event", {}).get("flow_id"))
    if flow_id is not None:
        if isinstance(flow_id, bool) or not isinstance(flow_id, int) or flow_id < 0:
            raise BadVerdict(f'"flow_id" must be a non-negative integer, not {flow_id!r}')
        if "event" in out and out["event"].get("flow_id", flow_id) != flow_id:
            raise BadVerdict('"flow_id" differs from the event\'s flow_id')
        out["flow_id"] = flow_id
    if "flow_id" not in out and "event" not in out:
        raise BadVerdict('a verdict needs "flow_id" or "event" (which event it is about)')
    if "analyzer" in request:
        tags = {tag.lower(): tag for tag in analyzers}
        name = request["analyzer"]
        if not isinstance(name, str) or name.lower() not in tags:
            raise BadVerdict(f'"analyzer": {name!r} is not a configured analyzer ({", ".join(analyzers)})')
        out["analyzer"] = tags[name.lower()]
    if "note" in request:
        if not isinstance(request["note"], str) or len(request["note"]) > MAX_NOTE:
            raise BadVerdict(f'"note" must be a string of at most {MAX_NOTE} characters')
        out["note"] = request["note"]
    return out


def owning_worker(verdict: dict[str, Any], shard_key: str, workers: int) -> int:
    """The worker whose shard holds the verdict's event (0 with one worker or none)."""
    if workers <= 1:
        return 0
    if "event" in verdict:
        line = orjson.dumps(verdict["event"])
    elif shard_key in ("flow_id", "flow"):
        line = b'{"flow_id":%d}' % verdict["flow_id"]
    else:
        raise BadVerdict(f'events are sharded by "{shard_key}": send the "event" itself, whose fields pick '
                         "the worker that holds its state")
    return make_sharder(shard_key, workers)(line)
