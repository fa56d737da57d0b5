"""Counting transport faults of a source, and logging them without flooding the log.

Sources count what goes wrong on the wire (a writer that vanished mid-record, a
truncated datagram, a lost Redis connection) in ``stats.errors[reason]``. Records
that arrive but are not JSON are the worker's business (it counts and dead-letters
them); a source never drops a line silently.
"""

from __future__ import annotations

import logging

from mle.sources.base import SourceStats

log = logging.getLogger("mle.input")


def count_fault(stats: SourceStats, label: str, reason: str, detail: str = "", n: int = 1) -> None:
    """Add ``n`` to ``stats.errors[reason]``; log the 1st, 10th, 100th ... occurrence."""
    before = stats.errors[reason]
    stats.errors[reason] = after = before + n
    if _crossed_power_of_ten(before, after):
        log.warning("%s: %s%s (%d so far)", label, reason, f": {detail}" if detail else "", after)


def _crossed_power_of_ten(before: int, after: int) -> bool:
    mark = 1
    while mark <= after:
        if before < mark <= after:
            return True
        mark *= 10
    return False
