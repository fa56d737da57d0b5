"""Wiring one process's pipeline: Redis, the worker, the sinks; replay and run loops.

``Pipeline`` owns everything a running engine holds open. :func:`replay` pushes
files through it and returns; :func:`run` reads every configured input (one
thread per source, a bounded queue to the worker) until it is told to stop, then
drains: whatever was read is processed and written before it returns.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import orjson

from mle.config import Config
from mle.connectors import Context, Endpoint, build_sink, build_source
from mle.deadletter import DeadLetterWriter
from mle.errors import ConfigError
from mle.redis.pipe import RedisAddress, RedisPipe
from mle.redis.server import PrivateRedis
from mle.sinks.base import Sink
from mle.sinks.file import FileSink
from mle.sources.base import Batch, Source
from mle.worker import LOG_OUTPUT, STATS_OUTPUT, BatchResult, Worker

log = logging.getLogger("mle")

LOG_FILE = "mle.log"
STATS_FILE = "mle-stats.log"


@dataclass
class Flags:
    """What signal handlers ask the main loop to do (they only set flags)."""

    stop: threading.Event = field(default_factory=threading.Event)
    reopen: bool = False
    rotate: bool = False


class Pipeline:
    """Everything one engine process holds open. Use as a context manager."""

    def __init__(
        self,
        config: Config,
        *,
        out: str | None = None,
        keep_going: bool = False,
        replay: bool = False,
    ) -> None:
        self.config = config
        self.flags = Flags()
        self.dead_letters = DeadLetterWriter(config.dead_letter_path)
        self.context = Context(
            root=config.root.path,
            run_dir=config.run_dir,
            log_dir=config.log_dir,
            replay=replay,
            max_line_bytes=config.engine.max_line_bytes,
            dead_letters=self.dead_letters,
        )
        self.private_redis: PrivateRedis | None = None
        self.redis: RedisPipe | None = None
        self.worker: Worker | None = None
        self.keep_going = keep_going
        self.sinks: dict[int, Sink] = self._build_sinks(out)
        self.output_failures = 0
        self.tap: Callable[[list[bytes]], None] | None = None  # sees every output batch

    # construction ----------------------------------------------------------------
    def _build_sinks(self, out: str | None) -> dict[int, Sink]:
        sinks: dict[int, Sink] = {}
        if out is not None:
            uri = "stdout://" if out == "-" else "file://" + str(Path(out).resolve())
            shared = build_sink("out", uri, {}, "--out", self.context)
            for spec in self.config.outputs:
                sinks[spec.index] = shared
        else:
            for spec in self.config.outputs:
                sinks[spec.index] = build_sink(spec.tag, spec.uri, spec.options, spec.label, self.context)
        log_dir = str(self.config.log_dir)
        sinks[LOG_OUTPUT] = FileSink("log", Endpoint("file", f"{log_dir}/{LOG_FILE}", "log"), {}, self.context)
        sinks[STATS_OUTPUT] = FileSink(
            "stats", Endpoint("file", f"{log_dir}/{STATS_FILE}", "stats"), {}, self.context
        )
        return sinks

    def build_sources(self) -> list[Source]:
        """One source per configured input."""
        return [
            build_source(spec.tag, spec.uri, spec.options, f"inputs[{spec.index}] (tag \"{spec.tag}\")",
                         self.context)
            for spec in self.config.inputs
        ]

    def unique_sinks(self) -> list[Sink]:
        seen: dict[int, Sink] = {}
        for sink in self.sinks.values():
            seen.setdefault(id(sink), sink)
        return list(seen.values())

    # lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Reach Redis (starting the private one if none is configured), load and set
        up every script, open the outputs."""
        self.redis = self._connect_redis()
        self.worker = Worker(self.config, self.redis, self.dead_letters, keep_going=self.keep_going)
        for sink in self.unique_sinks():
            sink.open()
        self.worker.start()
        self.write(self.worker.take_output())

    def _connect_redis(self) -> RedisPipe:
        settings = self.config.redis
        if settings is None:
            self.private_redis = PrivateRedis(self.config.run_dir)
            address = self.private_redis.start()
        else:
            address = RedisAddress(
                host=settings.host,
                port=settings.port,
                unix_socket=settings.unix_socket,
                password=settings.password,
                db=settings.db,
            )
        pipe = RedisPipe(address, stop=self.flags.stop)
        pipe.connect()
        for tag, module in self.config.modules:
            reply = pipe.call("MODULE", "LOAD", module)
            if isinstance(reply, Exception):
                log.warning("modules (tag %r): MODULE LOAD %s failed: %s", tag, module, reply)
        return pipe

    def close(self) -> None:
        """Flush and close outputs, stop the private Redis."""
        for sink in self.unique_sinks():
            try:
                sink.close()
            except OSError as exc:
                log.error("closing output %s: %s", sink.tag, exc)
        self.dead_letters.close()
        if self.redis is not None:
            self.redis.close()
        if self.private_redis is not None:
            self.private_redis.stop()

    def __enter__(self) -> Pipeline:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the work -------------------------------------------------------------------------
    def handle(self, batch: Batch) -> None:
        """Process one batch and write its results; then acknowledge it."""
        assert self.worker is not None
        self.write(self.worker.process(batch.lines, batch.input))
        if batch.on_done is not None:
            batch.on_done()

    def fire_timers(self, now: float | None = None) -> None:
        assert self.worker is not None
        if self.worker.timers.next_due() is not None:
            self.write(self.worker.fire_timers(now))

    def write(self, result: BatchResult) -> None:
        """Hand rendered lines to their sinks; a sink that fails dead-letters the lines."""
        for index, lines in result.lines.items():
            sink = self.sinks.get(index)
            if sink is None:
                continue
            if self.tap is not None and index > 0:
                self.tap(lines)
            try:
                sink.write_batch(lines)
            except BrokenPipeError:
                self._lost(sink, lines, "output closed (broken pipe)")
                self.flags.stop.set()
            except OSError as exc:
                self._lost(sink, lines, str(exc))
        self.dead_letters.flush()

    def _lost(self, sink: Sink, lines: list[bytes], reason: str) -> None:
        self.output_failures += len(lines)
        sink.stats.errors["write_failed"] += len(lines)
        log.error("output %s failed (%s): %d documents go to the dead-letter file", sink.tag, reason, len(lines))
        for line in lines:
            self.dead_letters.write(f"output {sink.tag}", "write_failed", reason, line)

    def service_signals(self) -> None:
        """Act on SIGHUP (reopen outputs) and SIGUSR1 (rotate file outputs)."""
        if self.flags.reopen:
            self.flags.reopen = False
            log.info("SIGHUP: reopening outputs")
            for sink in self.unique_sinks():
                sink.reopen()
        if self.flags.rotate:
            self.flags.rotate = False
            log.info("SIGUSR1: rotating file outputs")
            for sink in self.unique_sinks():
                sink.rotate()

    def write_stats(self) -> None:
        """One line of engine counters to the stats file (Dragonfly's shape, extended)."""
        assert self.worker is not None
        scripts = self.worker.script_stats()
        line = {
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "operations": {
                "input": sum(r["n_in"] for r in scripts if r["kind"] == "input"),
                "analyzer": sum(r["n_in"] for r in scripts if r["kind"] == "analyzer"),
                "output": sum(s.stats.lines for i, s in self.sinks.items() if i > 0),
            },
            "scripts": {f'{r["kind"]}:{r["tag"]}': {k: r[k] for k in ("n_in", "n_out", "n_err")} for r in scripts},
            "rejected": {f"{tag}:{reason}": n for (tag, reason), n in self.worker.rejected.items()},
            "dead_letters": self.dead_letters.count,
        }
        self.sinks[STATS_OUTPUT].write_batch([orjson.dumps(line)])


# --- loops -----------------------------------------------------------------------------


def install_signal_handlers(flags: Flags) -> None:
    """SIGTERM/SIGINT stop (drain), SIGHUP reopens outputs, SIGUSR1 rotates them."""

    def stop(signum: int, frame: FrameType | None) -> None:
        if flags.stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("%s: draining and stopping", signal.Signals(signum).name)
        flags.stop.set()

    def reopen(signum: int, frame: FrameType | None) -> None:
        flags.reopen = True

    def rotate(signum: int, frame: FrameType | None) -> None:
        flags.rotate = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reopen)
    signal.signal(signal.SIGUSR1, rotate)


def replay(
    pipeline: Pipeline,
    sources: Iterable[Source],
    on_progress: Callable[[Source, int], None] | None = None,
) -> None:
    """Push each source through the pipeline until it ends, then fire pending timers once."""
    batch_size = pipeline.config.engine.batch_size
    for source in sources:
        source.open()
        try:
            while not pipeline.flags.stop.is_set():
                batch = source.read_batch(batch_size, 0.0)
                if batch is None:
                    break
                pipeline.handle(batch)
                pipeline.fire_timers()
                if on_progress is not None:
                    on_progress(source, batch.size)
        finally:
            source.close()
    pipeline.fire_timers(math.inf)  # periodic analyzers get their last report out
    pipeline.write_stats()


def run(pipeline: Pipeline, sources: list[Source], queue_batches: int = 64) -> None:
    """Read every source until stopped, then drain. One thread per source feeds a
    bounded queue, so a slow worker or sink stops the reading (backpressure)."""
    cfg = pipeline.config.engine
    flags = pipeline.flags
    batches: queue.Queue[Batch] = queue.Queue(maxsize=queue_batches)
    for source in sources:
        source.open()
    threads = [
        threading.Thread(target=_pump, args=(s, batches, flags.stop, cfg.batch_size, cfg.batch_timeout_ms / 1000),
                         name=f"input-{s.tag}", daemon=True)
        for s in sources
    ]
    for thread in threads:
        thread.start()
    next_stats = time.monotonic() + cfg.stats_interval
    try:
        while True:
            timeout = 0.2
            due = pipeline.worker.timers.next_due() if pipeline.worker else None
            if due is not None:
                timeout = max(0.0, min(timeout, due - time.monotonic()))
            try:
                batch = batches.get(timeout=timeout)
            except queue.Empty:
                batch = None
            if batch is not None:
                pipeline.handle(batch)
            pipeline.fire_timers()
            pipeline.service_signals()
            if time.monotonic() >= next_stats:
                pipeline.write_stats()
                next_stats = time.monotonic() + cfg.stats_interval
            if batch is None and not any(t.is_alive() for t in threads) and batches.empty():
                break
    finally:
        flags.stop.set()
        for source in sources:
            with contextlib.suppress(OSError):
                source.close()
        # drain: everything the inputs read (or are putting) is processed before we return
        while True:
            alive = any(t.is_alive() for t in threads)
            try:
                pipeline.handle(batches.get(timeout=0.05))
            except queue.Empty:
                if not alive:
                    break
        pipeline.write_stats()


def _pump(source: Source, batches: queue.Queue, stop: threading.Event, batch_size: int, linger: float) -> None:
    """Read batches from one source into the queue until it ends or stop is set."""
    try:
        while not stop.is_set():
            batch = source.read_batch(batch_size, linger)
            if batch is None:
                return
            if not batch.lines:
                continue
            while True:
                try:
                    batches.put(batch, timeout=0.2)
                    break
                except queue.Full:
                    continue  # the main loop (or its drain) is still consuming
    except (OSError, ValueError) as exc:
        if not stop.is_set():
            log.error("input %s stopped: %s", source.tag, exc)
    except ConfigError as exc:
        log.error("%s", exc)
