"""``/metrics``: the engine's counters in Prometheus' text format (prometheus-client).

Every value comes from one :meth:`LiveState.snapshot`, exported by a collector
of its own registry (nothing global), so a scrape sees one consistent moment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from mle.http.state import LiveState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _counter(name: str, doc: str, labels: list[str], rows: list[tuple[list[str], float]]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def _gauge(name: str, doc: str, labels: list[str], rows: list[tuple[list[str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


class EngineCollector(Collector):
    """Turns a snapshot of the engine into metric families."""

    def __init__(self, state: LiveState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        snap = self.state.snapshot()
        counters: dict[str, Any] = snap["counters"]
        source: dict[str, Any] = snap["source"]
        sink: dict[str, Any] = snap["sink"]
        scripts = counters.get("scripts", [])
        lines = source.get("lines") or counters.get("lines_in", {})
        yield _counter("mle_input_lines", "Lines read, per input.", ["input"],
                       [([tag], n) for tag, n in sorted(lines.items())])
        rejected = []
        for key, n in sorted(counters.get("rejected", {}).items()):
            tag, _, reason = key.partition("\t")
            rejected.append(([tag, reason], n))
        yield _counter("mle_input_rejected", "Lines dead-lettered before any script saw them, per input and reason.",
                       ["input", "reason"], rejected)
        yield _counter("mle_input_errors", "Read errors of inputs, per input and reason.", ["input", "reason"],
                       [([tag, reason], n) for tag, reasons in sorted(source.get("errors", {}).items())
                        for reason, n in sorted(reasons.items())])
        labels = ["kind", "script"]
        for name, key, doc in (
            ("mle_script_events_in", "n_in", "Events a script received."),
            ("mle_script_events_out", "n_out", "Events a script passed on (analyze_event + output_event)."),
            ("mle_script_errors", "n_err", "Calls of a script that failed (the event goes on)."),
            ("mle_script_redis_commands", "n_redis", "Redis commands a script issued."),
            ("mle_script_cpu_seconds", "time", "CPU time inside a script (sampled)."),
        ):
            yield _counter(name, doc, labels, [([r["kind"], r["tag"]], r.get(key, 0)) for r in scripts])
        yield _gauge("mle_script_quarantined", "Worker processes in which a script is quarantined.", labels,
                     [([r["kind"], r["tag"]], r.get("quarantined", 0)) for r in scripts])
        yield _gauge("mle_script_quarantines", "Quarantines a script has entered (per event type), all workers.",
                     labels, [([r["kind"], r["tag"]], r.get("quarantines", 0)) for r in scripts])
        yield _counter("mle_unknown_tag_events", "Events sent to a tag no analyzer or output has (dropped).",
                       ["target"], [([key], n) for key, n in sorted(counters.get("unknown", {}).items())])
        outputs = sink.get("outputs", [])
        yield _counter("mle_output_documents", "Documents written, per output.", ["output"],
                       [([o["tag"]], o["lines"]) for o in outputs])
        yield _counter("mle_output_bytes", "Bytes written, per output.", ["output"],
                       [([o["tag"]], o["bytes"]) for o in outputs])
        yield _counter("mle_output_failed", "Documents an output could not deliver (dead-lettered or dropped), "
                       "per output and reason.", ["output", "reason"],
                       [([o["tag"], reason], n) for o in outputs for reason, n in sorted(o["errors"].items())])
        yield _counter("mle_output_retries", "Retried writes (attempts or items, as the output counts them).",
                       ["output"], [([o["tag"]], o["counts"].get("retries", 0) + o["counts"].get("retried_items", 0))
                                    for o in outputs])
        yield _counter("mle_output_spilled_documents", "Documents an output spilled to its disk queue.", ["output"],
                       [([o["tag"]], o["counts"].get("spilled_documents", 0)) for o in outputs])
        yield _counter("mle_output_operations", "Every counter an output keeps (connections, requests, spills, ...).",
                       ["output", "operation"],
                       [([o["tag"], op], n) for o in outputs for op, n in sorted(o["counts"].items())])
        dead = counters.get("dead_letters", 0) + sink.get("dead_letters", 0) + source.get("dead_letters", 0)
        yield _counter("mle_dead_letters", "Records written to the dead-letter file.", [], [([], dead)])
        yield _counter("mle_findings_written", "Documents with findings written (once per output).", [],
                       [([], sink.get("findings_seen", 0))])
        yield _counter("mle_engine_errors", "Batches the Lua kernel itself failed on.", [],
                       [([], counters.get("engine_errors", 0))])
        yield _counter("mle_redis_round_trips", "Pipelined round trips to Redis.", [],
                       [([], counters.get("redis_round_trips", 0))])
        yield _counter("mle_redis_commands", "Commands sent to Redis.", [], [([], counters.get("redis_commands", 0))])
        yield _counter("mle_worker_restarts", "Workers replaced after a crash or a hang.", [],
                       [([], snap["restarts"])])
        latency = source.get("latency")
        if latency:
            family = HistogramMetricFamily("mle_event_latency_seconds",
                                           "Seconds from reading an event at the input to writing it at the outputs.")
            running, buckets = 0, []
            for bound, count in zip(latency["bounds"], latency["counts"], strict=False):
                running += count
                buckets.append((repr(float(bound)), running))
            buckets.append(("+Inf", sum(latency["counts"])))
            family.add_metric([], buckets, sum_value=latency["sum"])
            yield family
        queues = [(["input", ""], source.get("queued", 0))]
        queues += [(["worker", worker], n) for worker, n in sorted(source.get("in_flight", {}).items())]
        yield _gauge("mle_queue_depth", "Batches waiting: read and not yet sharded (input), sent to a worker and "
                     "not yet written (worker).", ["queue", "worker"], queues)
        yield _gauge("mle_process_up", "1 when the process is alive.", ["process"],
                     [([name], 1.0 if p.get("alive") else 0.0) for name, p in sorted(snap["processes"].items())])
        yield _gauge("mle_events_per_second", "Lines read per second over the last 10 s.", [],
                     [([], snap["events_per_second"])])


def render(state: LiveState) -> bytes:
    """The text exposition of everything."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(state))
    return generate_latest(registry)
