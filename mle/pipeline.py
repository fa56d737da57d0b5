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
from types import FrameType
from typing import TYPE_CHECKING

import orjson
import setproctitle

from mle.config import Config
from mle.connectors import Context, build_source
from mle.deadletter import DeadLetterWriter
from mle.delivery import STATS_OUTPUT, Delivery
from mle.redis.functions import load_functions
from mle.redis.pipe import RedisAddress, RedisPipe
from mle.redis.server import PrivateRedis
from mle.reload import Reloader, ScriptWatcher
from mle.runtime.gc_tuning import relax_cyclic_gc
from mle.runtime.latency import LatencyHistogram
from mle.runtime.processes import enable_stack_dumps
from mle.sources.base import Batch, Source
from mle.sources.pump import read_to_end, start_pumps
from mle.worker import BatchResult, Worker

if TYPE_CHECKING:
    from mle.runtime.api_bridge import PipelineApi

log = logging.getLogger("mle")


@dataclass
class Flags:
    """What signal handlers ask the main loop to do (they only set flags)."""

    stop: threading.Event = field(default_factory=threading.Event)
    now: threading.Event = field(default_factory=threading.Event)  # a second stop: do not finish
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
        self.retired: list[dict] = []  # counters of workers replaced by a reload
        self.reloader = Reloader(config)
        self.watcher: ScriptWatcher | None = None  # mle run: reload when a script file changes
        self.keep_going = keep_going
        self.delivery = Delivery(config, self.context, self.dead_letters, out)
        self.latency = LatencyHistogram()  # read -> written, for the HTTP API
        self.api: PipelineApi | None = None  # the HTTP API's end in this process, when it is served

    def build_sources(self) -> list[Source]:
        """One source per configured input."""
        return build_sources(self.config, self.context)

    # lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Reach Redis (starting the private one if none is configured), load and set
        up every script, open the outputs."""
        relax_cyclic_gc()
        self.private_redis, address = start_redis(self.config)
        self.redis = connect_redis(self.config, address, self.flags.stop)
        self.worker = Worker(self.config, self.redis, self.dead_letters, keep_going=self.keep_going)
        self.delivery.open()
        self.worker.start()
        self.write(self.worker.take_output())

    def close(self) -> None:
        """Stop the HTTP API, flush and close outputs, stop the private Redis."""
        if self.api is not None:
            self.api.host.stop()
        self.delivery.close()
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
        self.latency.observe(time.monotonic() - batch.read_at, len(batch.lines))
        if batch.on_done is not None:
            batch.on_done()

    def fire_timers(self, now: float | None = None) -> None:
        assert self.worker is not None
        if self.worker.timers.next_due() is not None:
            self.write(self.worker.fire_timers(now))

    def write(self, result: BatchResult) -> None:
        self.delivery.write(result.lines.items())
        if self.delivery.broken_pipe:
            self.flags.stop.set()

    def service_signals(self) -> None:
        """Act on SIGHUP (reopen outputs, reload scripts) and SIGUSR1 (rotate file outputs)."""
        if self.flags.reopen:
            self.flags.reopen = False
            log.info("SIGHUP: reopening outputs, reloading scripts")
            self.sighup()
        if self.watcher is not None and self.watcher.changed():
            self.reload_scripts()
        if self.flags.rotate:
            self.flags.rotate = False
            log.info("SIGUSR1: rotating file outputs")
            self.delivery.rotate()

    def sighup(self) -> bool:
        """Reopen the outputs and reload the scripts (SIGHUP, or POST /reload); True if
        the new scripts loaded."""
        self.delivery.reopen()
        return self.reload_scripts()

    def service_api(self, queued: int = 0) -> None:
        """Publish to the HTTP API and carry out its requests (when it is served)."""
        if self.api is not None:
            self.api.tick(queued)

    def reload_scripts(self) -> bool:
        """Replace the worker by one running the scripts now on disk (see :mod:`mle.reload`);
        if one of them fails to load, keep the running ones (and return False)."""
        assert self.worker is not None
        loaded = self.reloader.load(self.config, self.redis, self.dead_letters)
        if self.api is not None:
            self.api.host.state.reloaded(loaded is not None, self.reloader.last_error)
        if loaded is None:
            return False
        config, new = loaded
        self.config = config
        if self.api is not None:
            self.api.host.config = config
        self.write(self.worker.fire_timers(math.inf))
        self.retired.append(self.worker.counters())
        self.worker = new
        self.write(new.take_output())
        log.info("scripts reloaded")
        return True

    def write_stats(self) -> None:
        """One line of engine counters to the stats file."""
        assert self.worker is not None
        line = stats_line(self.worker.counters(), self.delivery.written(), self.dead_letters.count)
        self.delivery.sinks[STATS_OUTPUT].write_batch([line])


def build_sources(config: Config, context: Context) -> list[Source]:
    """One source per configured input."""
    return [
        build_source(spec.tag, spec.uri, spec.options, f'inputs[{spec.index}] (tag "{spec.tag}")', context)
        for spec in config.inputs
    ]


def start_redis(config: Config) -> tuple[PrivateRedis | None, RedisAddress]:
    """The private Redis (started) when none is configured, else the configured address."""
    settings = config.redis
    if settings is None:
        private = PrivateRedis(config.run_dir)
        return private, private.start()
    return None, RedisAddress(
        host=settings.host,
        port=settings.port,
        unix_socket=settings.unix_socket,
        password=settings.password,
        db=settings.db,
    )


def connect_redis(config: Config, address: RedisAddress, stop: threading.Event, load_modules: bool = True) -> RedisPipe:
    """A connected pipe (raises RedisUnavailable); loads config.lua's modules and MLE's
    server-side functions once."""
    pipe = RedisPipe(address, stop=stop)
    pipe.connect()
    if load_modules:
        for tag, module in config.modules:
            reply = pipe.call("MODULE", "LOAD", module)
            if isinstance(reply, Exception):
                log.warning("modules (tag %r): MODULE LOAD %s failed: %s", tag, module, reply)
        load_functions(pipe)
    return pipe


def stats_line(counters: dict, written: int, dead_letters: int) -> bytes:
    """Dragonfly's stats line (time + operations), extended with MLE's counters."""
    scripts = counters["scripts"]
    return orjson.dumps({
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "operations": {
            "input": sum(r["n_in"] for r in scripts if r["kind"] == "input"),
            "analyzer": sum(r["n_in"] for r in scripts if r["kind"] == "analyzer"),
            "output": written,
        },
        "scripts": {f'{r["kind"]}:{r["tag"]}': {k: r[k] for k in ("n_in", "n_out", "n_err")} for r in scripts},
        "rejected": counters["rejected"],
        "dead_letters": dead_letters,
    })


# --- loops -----------------------------------------------------------------------------


def install_signal_handlers(flags: Flags, command: str) -> None:
    """SIGTERM/SIGINT stop (drain), SIGHUP reopens outputs, SIGUSR1 rotates them;
    the process shows as ``mle: COMMAND`` in ps (beside ``mle: worker-0`` ...)."""
    setproctitle.setproctitle(f"mle: {command}")

    def stop(signum: int, frame: FrameType | None) -> None:
        if flags.stop.is_set():
            log.warning("%s again: stopping now, without finishing", signal.Signals(signum).name)
            flags.now.set()
            return
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
    enable_stack_dumps()


def replay(
    pipeline: Pipeline,
    sources: Iterable[Source],
    on_progress: Callable[[Source, int], None] | None = None,
) -> None:
    """Push each source through the pipeline until it ends, then fire pending timers once.
    A source that fails records why (``source.stats.failure``) and the next one goes on."""
    batch_size = pipeline.config.engine.batch_size
    for source in sources:

        def deliver(batch: Batch, source: Source = source) -> None:
            pipeline.handle(batch)
            pipeline.fire_timers()
            pipeline.service_api()
            if on_progress is not None:
                on_progress(source, batch.size)

        read_to_end(source, batch_size, pipeline.flags.stop, deliver)
    pipeline.fire_timers(math.inf)  # periodic analyzers get their last report out
    pipeline.write_stats()


def run(pipeline: Pipeline, sources: list[Source], queue_batches: int = 64) -> None:
    """Read every source until stopped, then drain. One thread per source feeds a
    bounded queue, so a slow worker or sink stops the reading (backpressure)."""
    cfg = pipeline.config.engine
    flags = pipeline.flags
    batches: queue.Queue[Batch] = queue.Queue(maxsize=queue_batches)
    threads = start_pumps(sources, batches, flags.stop, cfg.batch_size, cfg.batch_timeout_ms / 1000)
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
            pipeline.service_api(batches.qsize())
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
