"""Live reports: what the sink and the source tell the supervisor every second for
the HTTP API (workers send their ``Worker.counters()``), and what the single
process engine publishes from the same objects.
"""

from __future__ import annotations

from typing import Any

from mle.deadletter import DeadLetterWriter
from mle.delivery import Delivery
from mle.findings import FindingScanner
from mle.runtime.latency import LatencyHistogram
from mle.sources.base import Source

LIVE_INTERVAL = 1.0  # seconds between live reports


def output_report(delivery: Delivery) -> list[dict[str, Any]]:
    """Per user output: documents and bytes written, dead letters by reason, and the
    output's own counters (retries, spilled requests, reconnections, ...)."""
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, sink in sorted(delivery.sinks.items()):
        if index <= 0 or id(sink) in seen:
            continue
        seen.add(id(sink))
        counts = getattr(sink, "counts", {})
        rows.append({"tag": sink.tag, "where": sink.description, "lines": sink.stats.lines,
                     "bytes": sink.stats.bytes, "errors": dict(sink.stats.errors), "counts": dict(counts)})
    return rows


def sink_report(delivery: Delivery, dead_letters: DeadLetterWriter, findings: FindingScanner) -> dict[str, Any]:
    """The sink's live report (its findings are the ones decoded since the last report)."""
    return {"outputs": output_report(delivery), "dead_letters": dead_letters.count,
            "findings_seen": findings.seen, "findings": findings.take()}


def source_report(sources: list[Source], latency: LatencyHistogram, queued: int, in_flight: dict[int, int],
                  dead_letters: int) -> dict[str, Any]:
    """The source's live report: lines per input, read errors, latency, queue depths."""
    lines: dict[str, int] = {}
    errors: dict[str, dict[str, int]] = {}
    for source in sources:
        lines[source.tag] = lines.get(source.tag, 0) + source.stats.lines
        for reason, count in source.stats.errors.items():
            errors.setdefault(source.tag, {})[reason] = errors.get(source.tag, {}).get(reason, 0) + count
    return {"lines": lines, "errors": errors, "latency": latency.as_dict(), "queued": queued,
            "in_flight": {str(k): v for k, v in in_flight.items()}, "dead_letters": dead_letters}
