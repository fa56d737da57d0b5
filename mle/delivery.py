"""Handing rendered documents to their sinks: one place, whichever process does it.

:class:`Delivery` owns the sinks of a pipeline by output index (plus the internal
log and stats files), writes a batch's results to them, and dead-letters what a
sink could not take, so nothing leaves silently. The single-process pipeline and
the sink process of the multiprocess runtime both use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from mle.config import Config
from mle.connectors import Context, Endpoint, build_sink
from mle.deadletter import DeadLetterWriter
from mle.sinks.base import Sink
from mle.sinks.file import FileSink
from mle.summary import OutputReport

log = logging.getLogger("mle")

LOG_OUTPUT = -1
STATS_OUTPUT = -2
LOG_FILE = "mle.log"
STATS_FILE = "mle-stats.log"


class Delivery:
    """The sinks of one pipeline. ``out`` ("-" or a path) sends every output to one place."""

    def __init__(self, config: Config, context: Context, dead_letters: DeadLetterWriter,
                 out: str | None = None) -> None:
        self.dead_letters = dead_letters
        self.sinks: dict[int, Sink] = {}
        if out is not None:
            uri = "stdout://" if out == "-" else "file://" + str(Path(out).resolve())
            shared = build_sink("out", uri, {}, "--out", context)
            for spec in config.outputs:
                self.sinks[spec.index] = shared
        else:
            for spec in config.outputs:
                self.sinks[spec.index] = build_sink(spec.tag, spec.uri, spec.options, spec.label, context)
        log_dir = str(config.log_dir)
        self.sinks[LOG_OUTPUT] = FileSink("log", Endpoint("file", f"{log_dir}/{LOG_FILE}", "log"), {}, context)
        self.sinks[STATS_OUTPUT] = FileSink("stats", Endpoint("file", f"{log_dir}/{STATS_FILE}", "stats"), {}, context)
        self.failed = 0
        self.tap: Callable[[list[bytes]], None] | None = None  # sees every output batch
        self.broken_pipe = False

    def unique(self) -> list[Sink]:
        seen: dict[int, Sink] = {}
        for sink in self.sinks.values():
            seen.setdefault(id(sink), sink)
        return list(seen.values())

    def open(self) -> None:
        for sink in self.unique():
            sink.open()

    def write(self, results: Iterable[tuple[int, list[bytes]]]) -> None:
        """Write (output index, documents) pairs; a sink that fails dead-letters them."""
        for index, lines in results:
            sink = self.sinks.get(index)
            if sink is None or not lines:
                continue
            if self.tap is not None and index > 0:
                self.tap(lines)
            try:
                sink.write_batch(lines)
            except BrokenPipeError:
                self._lost(sink, lines, "output closed (broken pipe)")
                self.broken_pipe = True
            except OSError as exc:
                self._lost(sink, lines, str(exc))
        self.dead_letters.flush()

    def _lost(self, sink: Sink, lines: list[bytes], reason: str) -> None:
        self.failed += len(lines)
        sink.stats.errors["write_failed"] += len(lines)
        sink.stats.lines += len(lines)  # handed to the output ...
        sink.stats.dead_lettered += len(lines)  # ... and not delivered
        log.error("output %s failed (%s): %d documents go to the dead-letter file", sink.tag, reason, len(lines))
        for line in lines:
            self.dead_letters.write(f"output {sink.tag}", "write_failed", reason, line)

    def reopen(self) -> None:
        for sink in self.unique():
            sink.reopen()

    def rotate(self) -> None:
        for sink in self.unique():
            sink.rotate()

    def close(self) -> None:
        for sink in self.unique():
            try:
                sink.close()
            except OSError as exc:
                log.error("closing output %s: %s", sink.tag, exc)

    def output_reports(self) -> list[OutputReport]:
        """What became of the documents of each user output (final once closed)."""
        reports: list[OutputReport] = []
        for index, sink in sorted(self.sinks.items()):
            if index > 0 and all(r.tag != sink.tag for r in reports):
                s = sink.stats
                reports.append(OutputReport(sink.tag, sink.description, s.lines, s.dead_lettered, s.left_over,
                                            s.left_where, s.existing_lines))
        return reports

    def written(self) -> int:
        """Documents written to user outputs."""
        return sum(r.lines for r in self.output_reports())
