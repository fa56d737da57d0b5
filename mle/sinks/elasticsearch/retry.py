"""What to do with each answer of the cluster (pure), and how long to wait before trying again.

Whole responses:

=====================  ==========================================================
200                    read every item (a 200 can carry failed items)
429, 502, 503, 504     the cluster is busy or down: retry for as long as it takes
401, 403               credentials refused: retry for as long as it takes (the
                       operator fixes them; nothing is dropped meanwhile), logged
413                    the body is too large: split it in two and send each half
other 5xx              retry up to ``max_retries`` times, then dead-letter
other 4xx              the request itself is wrong: dead-letter its documents
=====================  ==========================================================

Connection errors and timeouts count as "the cluster is down" (retry forever).

Items: 2xx is done; 409 on ``create`` is a duplicate (the document is already
there, which is what exactly-once needs); 429, 502-504 and 403
``cluster_block_exception`` (a read-only index after a disk watermark) are
retried for as long as it takes; other 5xx up to ``max_retries`` times; any
other 4xx (mapping errors, invalid index names) goes to the dead-letter file with
the cluster's reason.
"""

from __future__ import annotations

from enum import Enum

from mle.sinks.backoff import backoff_delay


class Verdict(Enum):
    """What to do with a response or an item."""

    DONE = "done"  # delivered
    DUPLICATE = "duplicate"  # delivered before (409 on create)
    ITEMS = "items"  # 200: read the items
    RETRY = "retry"  # transient: retry without limit
    RETRY_LIMITED = "retry_limited"  # maybe transient: retry up to max_retries
    SPLIT = "split"  # 413: halve the request
    REJECT = "reject"  # permanent: dead-letter


TRANSIENT = frozenset({429, 502, 503, 504})
AUTH = frozenset({401, 403})


def response_verdict(status: int) -> Verdict:
    """What to do with a whole bulk response of HTTP ``status``.

    >>> response_verdict(200), response_verdict(503), response_verdict(413), response_verdict(400)
    (<Verdict.ITEMS: 'items'>, <Verdict.RETRY: 'retry'>, <Verdict.SPLIT: 'split'>, <Verdict.REJECT: 'reject'>)
    """
    if status == 200:
        return Verdict.ITEMS
    if status in TRANSIENT or status in AUTH:
        return Verdict.RETRY
    if status == 413:
        return Verdict.SPLIT
    if status >= 500 or status < 200:
        return Verdict.RETRY_LIMITED
    return Verdict.REJECT


def item_verdict(action: str, status: int, error_type: str | None) -> Verdict:
    """What to do with one item of a 200 response.

    >>> item_verdict("create", 409, "version_conflict_engine_exception")
    <Verdict.DUPLICATE: 'duplicate'>
    >>> item_verdict("index", 400, "mapper_parsing_exception")
    <Verdict.REJECT: 'reject'>
    """
    if 200 <= status < 300:
        return Verdict.DONE
    if status == 409 and action == "create":
        return Verdict.DUPLICATE
    if status in TRANSIENT or (status == 403 and error_type == "cluster_block_exception"):
        return Verdict.RETRY
    if status >= 500:
        return Verdict.RETRY_LIMITED
    return Verdict.REJECT


class RetryPolicy:
    """Exponential backoff with jitter between ``initial`` and ``maximum`` seconds."""

    def __init__(self, initial: float, maximum: float, max_retries: int) -> None:
        self.initial = initial
        self.maximum = maximum
        self.max_retries = max_retries

    def delay(self, attempt: int, u: float) -> float:
        """Seconds to wait before retry ``attempt`` (0-based); ``u`` in [0, 1) is the jitter draw."""
        return backoff_delay(attempt, self.initial, self.maximum, u)

    def gives_up(self, limited_attempts: int) -> bool:
        """True once a maybe-transient failure was retried ``max_retries`` times."""
        return limited_attempts > self.max_retries
