"""Reading a bulk response item by item (pure)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import orjson

from mle.sinks.elasticsearch.retry import Verdict, item_verdict


@dataclass
class BulkOutcome:
    """What became of each item of one request (indexes into the request's items)."""

    done: int = 0
    duplicates: int = 0
    retry: list[int] = field(default_factory=list)
    retry_limited: list[int] = field(default_factory=list)
    rejected: list[tuple[int, int, str]] = field(default_factory=list)  # (index, status, reason)
    statuses: Counter[int] = field(default_factory=Counter)


def error_text(error: object) -> tuple[str | None, str]:
    """(type, "type: reason (caused by: ...)") of an Elasticsearch error object or string."""
    if isinstance(error, dict):
        kind = error.get("type")
        text = f"{kind}: {error.get('reason')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return (kind if isinstance(kind, str) else None), text
    return None, str(error)


def read_bulk_response(body: bytes, n_items: int, action: str) -> BulkOutcome:
    """Classify every item of a 200 response to a request of ``n_items`` items.
    Raises ValueError when the body is not a bulk response for that many items."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"the bulk response is not JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise ValueError("the bulk response is not a JSON object")
    items = answer.get("items")
    if not isinstance(items, list) or len(items) != n_items:
        got = len(items) if isinstance(items, list) else "no"
        raise ValueError(f"the bulk response has {got} items for {n_items} sent")
    outcome = BulkOutcome()
    for i, wrapped in enumerate(items):
        result = next(iter(wrapped.values()), None) if isinstance(wrapped, dict) and wrapped else None
        if not isinstance(result, dict) or not isinstance(result.get("status"), int):
            raise ValueError(f"item {i} of the bulk response has no status")
        status = result["status"]
        outcome.statuses[status] += 1
        kind, reason = error_text(result.get("error")) if "error" in result else (None, "")
        verdict = item_verdict(action, status, kind)
        if verdict is Verdict.DONE:
            outcome.done += 1
        elif verdict is Verdict.DUPLICATE:
            outcome.duplicates += 1
        elif verdict is Verdict.RETRY:
            outcome.retry.append(i)
        elif verdict is Verdict.RETRY_LIMITED:
            outcome.retry_limited.append(i)
        else:
            outcome.rejected.append((i, status, reason or f"status {status}"))
    return outcome
