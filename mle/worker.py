"""A worker: batches of raw EVE lines in, rendered JSON lines per output out.

This is the unit of parallelism. It owns one Lua state with every script of the
pipeline, decodes lines (rejecting and dead-lettering what is not a JSON object),
runs the input script and the analyzer chain, and collects what the scripts send
to outputs, rendered and ready to write.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from orjson import JSONDecodeError, loads

from mle.config import Config
from mle.deadletter import DeadLetterWriter
from mle.decode import LineDecoder
from mle.errors import ScriptLoadError
from mle.lua.runtime import LuaEngine, RedisExecutor
from mle.runtime.gc_tuning import relax_cyclic_gc
from mle.runtime.shard import make_lane_key
from mle.timers import TimerQueue

log = logging.getLogger("mle.worker")


def tune_garbage_collector() -> None:
    """Collect rarely (:func:`relax_cyclic_gc`) and never walk the start-up objects
    again: they are frozen out of the cyclic collector's reach."""
    gc.collect()
    gc.freeze()
    relax_cyclic_gc()

LOG_OUTPUT = -1
STATS_OUTPUT = -2


class ScriptLog:
    """Log messages from scripts, at most ``burst`` per script and level per minute, on the
    ``mle.script`` logger with the script's name as the record's ``script`` field."""

    def __init__(self, names: dict[int, str], burst: int = 20) -> None:
        self._names = names
        self._burst = burst
        self._window: dict[tuple[int, str], list[float]] = {}
        self.suppressed: Counter[str] = Counter()

    def __call__(self, script_id: int, level: str, text: str) -> None:
        name = self._names.get(script_id, "engine")
        key = (script_id, level)
        now = time.monotonic()
        window = self._window.setdefault(key, [now, 0])
        if now - window[0] > 60:
            if window[1] > self._burst:
                logging.getLogger("mle.script").warning(
                    "%s: %d more %s messages in the last minute were not shown",
                    name, window[1] - self._burst, level, extra={"script": name},
                )
            window[0], window[1] = now, 0
        window[1] += 1
        if window[1] > self._burst:
            self.suppressed[name] += 1
            return
        logging.getLogger("mle.script").log(
            logging.getLevelName(level.upper()) if level != "warning" else logging.WARNING,
            "%s: %s", name, text, extra={"script": name},
        )


@dataclass
class BatchResult:
    """What a batch produced: rendered lines per output index (-1 log, -2 stats)."""

    lines: dict[int, list[bytes]] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for k, v in self.lines.items() if k > 0)


class Worker:
    """Runs batches through the scripts of ``config``. Call :meth:`start` first."""

    def __init__(
        self,
        config: Config,
        redis: RedisExecutor | None,
        dead_letters: DeadLetterWriter,
        *,
        keep_going: bool = False,
        worker_id: int = 0,
    ) -> None:
        self.config = config
        self.redis = redis
        self.dead_letters = dead_letters
        self.keep_going = keep_going
        self.timers = TimerQueue()
        self._names: dict[int, str] = {}
        self.script_log = ScriptLog(self._names)
        self._pending: dict[int, list[bytes]] = {}
        self._output_tags = {spec.index: spec.tag for spec in config.outputs}
        self.engine = LuaEngine(
            root=config.root,
            runtime=config.lua_runtime,
            max_memory_mb=config.engine.max_memory_mb,
            redis=redis,
            emit=self._emit,
            log_script=self.script_log,
            arm_timer=self._arm_timer,
            dead_letter=self._dead_letter,
            worker_id=worker_id,
            budgeted=config.engine.max_instructions > 0,
            cjson_floats=config.root.layout == "dragonfly",
            home_net=config.engine.home_net,
            record_features=config.engine.record_features,
            quarantine_retry=config.engine.quarantine_retry,
            sources=config.script_sources,
        )
        self._render = self.engine.tracker.render
        self.input_scripts: dict[str, int] = {}
        self.load_errors: list[str] = []
        self._failed_ids: set[int] = set()
        self.rejected: Counter[tuple[str, str]] = Counter()  # (input tag, reason) -> lines
        self.lines_in: Counter[str] = Counter()
        self.blank_lines = 0
        self.engine_errors = 0
        self._decoders = {
            spec.tag: LineDecoder(int(spec.options.get("max_line_bytes", config.engine.max_line_bytes)))
            for spec in config.inputs
        }
        # serial semantics (README, "Redis from Lua"): per shard, the events of one lane run one
        # at a time; in analyzer order, every script takes its events one at a time instead
        self._by_analyzer = config.serial_order == "analyzer"
        self._lane_key = None if self._by_analyzer else make_lane_key(config.engine.shard_key)

    # start-up -----------------------------------------------------------------------
    def start(self) -> None:
        """Load every script, link routes and run every setup(). Raises
        :class:`ScriptLoadError` unless ``keep_going`` (then the script is quarantined)."""
        engine, cfg = self.engine, self.config.engine
        for spec in self.config.outputs:
            engine.add_output(spec.tag, spec.index)
        output_scripts: list[tuple[int, int]] = []
        for spec in self.config.outputs:
            if spec.script is None:
                continue
            try:
                script_id = engine.load_script(
                    kind="output", tag=spec.tag, label=spec.label, path=spec.script,
                    max_instructions=cfg.max_instructions, quarantine_after=cfg.quarantine_after,
                )
            except ScriptLoadError as exc:
                self._load_failed(exc, len(engine.scripts))
                script_id = len(engine.scripts)
            self._names[script_id] = f"output {spec.tag}"
            engine.set_output_script(spec.index, script_id)
            output_scripts.append((spec.index, script_id))
        specs = [i.script for i in self.config.inputs] + list(self.config.analyzers)
        loaded: list[int] = []
        for spec in specs:
            if spec.kind == "input" and spec.script is None and not spec.default_analyzer:
                raise ScriptLoadError(f"{spec.label}: an input needs a script or a default_analyzer")
            try:
                script_id = engine.load_script(
                    kind=spec.kind,
                    tag=spec.tag,
                    label=spec.label,
                    path=spec.script,
                    default_analyzer=spec.default_analyzer,
                    default_output=spec.default_output,
                    max_instructions=spec.max_instructions or cfg.max_instructions or 1,
                    quarantine_after=spec.quarantine_after if spec.quarantine_after else cfg.quarantine_after,
                    sequential=spec.sequential or self._by_analyzer,
                    allow_network=spec.allow_network,
                    allow_eval=spec.allow_eval,
                    settings=spec.settings,
                )
            except ScriptLoadError as exc:
                self._load_failed(exc, len(engine.scripts))
                script_id = len(engine.scripts)
            self._names[script_id] = f"{spec.kind} {spec.tag}"
            if spec.kind == "input":
                self.input_scripts[spec.tag] = script_id
            loaded.append(script_id)
        engine.link()
        for script_id in [s for _, s in output_scripts] + loaded:
            if script_id in self._failed_ids:
                continue
            try:
                engine.setup(script_id)
            except ScriptLoadError as exc:
                self._load_failed(exc, script_id)
        tune_garbage_collector()
        if not self.engine.uses_redis():
            self._lane_key = None  # nothing can observe another event's effects: keep arrival order
        # what setup() sent stays pending: the caller takes it (take_output) or it leaves with the first batch

    def _load_failed(self, exc: ScriptLoadError, script_id: int) -> None:
        if not self.keep_going:
            raise exc
        self._failed_ids.add(script_id)
        self.load_errors.append(str(exc))
        log.error("%s (quarantined; --keep-going)", exc)
        self.engine.quarantine(script_id)

    # batches --------------------------------------------------------------------------
    def _arm_timer(self, script_id: int, seconds: float, value: Any) -> bool:
        # a snapshot, as Dragonfly's marshal copy was: later changes to the table do not travel
        return self.timers.arm(script_id, seconds, orjson.loads(self._render(value)))

    def _dead_letter(self, index: int, value: Any, reason: str) -> None:
        tag = self._output_tags.get(index, str(index))
        self.dead_letters.write(f"output {tag}", "output_script", reason, self._render(value))

    def _emit(self, index: int, value: Any) -> None:
        line = self._render(value)
        bucket = self._pending.get(index)
        if bucket is None:
            self._pending[index] = [line]
        else:
            bucket.append(line)

    def take_output(self) -> BatchResult:
        """Everything the scripts emitted since the last call."""
        pending, self._pending = self._pending, {}
        return BatchResult(pending)

    def process(self, lines: list[bytes], input_tag: str) -> BatchResult:
        """Run raw lines (without newlines) from input ``input_tag`` through the pipeline,
        ``round_size`` events at a time: a round's events, coroutines and replies stay in
        the CPU cache, and its Redis commands share one round trip
        (``benchmarks/bench_rounds.py`` compares sizes)."""
        size = self.config.engine.round_size
        for start in range(0, len(lines), size):
            self._process_round(lines[start : start + size] if len(lines) > size else lines, input_tag)
        self.lines_in[input_tag] += len(lines)
        return self.take_output()

    def _process_round(self, lines: list[bytes], input_tag: str) -> None:
        decoder = self._decoders[input_tag]
        limit = decoder.max_line_bytes
        tracker = self.engine.tracker
        tracker.begin_batch()
        roots = tracker.roots  # id(record) -> (record, original text): see EventTracker.track
        events: list[Any] = []
        append = events.append
        annotated: list[int] = []  # 1-based indexes of records that arrived with an mle annotation
        source = f"input {input_tag}"
        for line in lines:
            # the usual case inline (a call per line costs more than the check); anything
            # else goes through the decoder, which says why it is not a record
            if len(line) <= limit and line[:1] == b"{" and line[-1:] == b"}":
                try:
                    record = loads(line)
                except JSONDecodeError:
                    record = None
                if type(record) is dict:
                    roots[id(record)] = (record, line)
                    append(record)
                    if "mle" in record:
                        annotated.append(len(events))
                    continue
            record, raw, reason, detail = decoder.decode(line)
            if record is not None:
                roots[id(record)] = (record, raw)
                append(record)
                if "mle" in record:
                    annotated.append(len(events))
            elif not line.strip():
                self.blank_lines += 1
            else:
                self.rejected[(input_tag, reason)] += 1
                self.dead_letters.write(source, reason, detail, line)
                append(None)  # the input script sees nil, as in Dragonfly
        if events:
            lane_key = self._lane_key
            lanes = [lane_key(e) if e is not None else None for e in events] if lane_key else None
            self._run(lambda: self.engine.run_batch(events, self.input_scripts[input_tag], lanes, annotated),
                      events, source)

    def feedback(self, verdict: dict) -> tuple[int, BatchResult]:
        """Run an analyst's verdict on an event through every analyzer that learns from
        feedback (defines ``feedback(fb)``), after the events this worker already took.
        Returns how many analyzers took it, and what they sent to outputs."""
        self.engine.tracker.begin_batch()
        taken = [0]

        def run() -> None:
            taken[0] = self.engine.run_feedback(verdict)

        self._run(run, [], "feedback")
        return taken[0], self.take_output()

    def fire_timers(self, now: float | None = None) -> BatchResult:
        """Deliver due timers (all pending ones when ``now`` is inf)."""
        fired = self.timers.due(now)
        if fired:
            self.engine.tracker.begin_batch()
            self._run(lambda: self.engine.run_timers(fired), [], "timers")
        return self.take_output()

    def _run(self, call: Any, events: list, source: str) -> None:
        try:
            call()
        except Exception as exc:  # the kernel itself failed (e.g. out of memory outside a script)
            self.engine_errors += 1
            log.error("engine error in %s: %s: the batch's records go to the dead-letter file", source, exc)
            for event in events:
                if event is not None:
                    self.dead_letters.write(source, "engine_error", str(exc), self._render(event))
            self.engine.kernel.reset()
        finally:
            self.engine.collect_garbage(len(events))

    def quarantine_tag(self, kind: str, tag: str) -> bool:
        """Quarantine the script of ``kind`` ("input", "analyzer", "output") with ``tag``."""
        for script_id, info in self.engine.scripts.items():
            if info.kind == kind and info.tag.lower() == tag.lower():
                self.engine.quarantine(script_id)
                return True
        return False

    def script_stats(self) -> list[dict]:
        rows, _ = self.engine.script_stats()
        return sorted(rows, key=lambda r: r["id"])

    def counters(self) -> dict:
        """Every counter of this worker as plain data (msgpack/JSON-able, mergeable)."""
        rows, unknown = self.engine.script_stats()
        return {
            "runtime": self.engine.runtime_name,
            "scripts": sorted(rows, key=lambda r: r["id"]),
            "unknown": unknown,
            "lines_in": dict(self.lines_in),
            "rejected": {f"{tag}\t{reason}": n for (tag, reason), n in self.rejected.items()},
            "blank": self.blank_lines,
            "engine_errors": self.engine_errors,
            "load_errors": list(self.load_errors),
            "redis_round_trips": getattr(self.redis, "round_trips", 0),
            "redis_commands": getattr(self.redis, "commands", 0),
            "dead_letters": self.dead_letters.count,
        }
