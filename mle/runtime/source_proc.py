"""The source process: read every input, shard by flow, batch, hand to the workers.

One thread per input feeds a bounded queue (as in the single-process engine). The
dispatcher sends each line to the worker its shard key picks, in arrival order,
in batches that close on ``batch_size`` lines or ``batch_timeout_ms``. It keeps
every batch until the sink acknowledges it: an input that can acknowledge (a Redis
stream) is acknowledged only then, and the batches of a worker that crashed are
sent again to its replacement. The batch the worker was in when it died is re-run
event by event ("isolated"); an event that kills a worker again is written to the
dead-letter file with the reason instead of being retried forever.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq

from mle.connectors import Context
from mle.deadletter import DeadLetterWriter
from mle.pipeline import build_sources
from mle.runtime import wire
from mle.runtime.latency import LatencyHistogram
from mle.runtime.live import source_report
from mle.runtime.processes import ChildSpec, child_setup, control_socket, report
from mle.runtime.shard import make_splitter
from mle.sources.base import Batch, Source
from mle.sources.file import replay_sources
from mle.sources.pump import read_to_end, start_pumps

log = logging.getLogger("mle.source")

#: seconds the main loop waits for lines while nothing is buffered or in flight
IDLE_WAIT = 0.1


@dataclass(eq=False)
class AckGroup:
    """An input batch that wants to know when all of its lines were written."""

    on_done: Callable[[], None]
    outstanding: int = 0
    dispatched: bool = False
    fired: bool = False

    def release(self) -> None:
        self.outstanding -= 1
        self.maybe_done()

    def maybe_done(self) -> None:
        if self.dispatched and self.outstanding <= 0 and not self.fired:
            self.fired = True
            self.on_done()


@dataclass
class InFlight:
    """A batch sent to a worker and not yet acknowledged by the sink."""

    worker: int
    tag: str
    lines: list[bytes]
    groups: list[AckGroup] = field(default_factory=list)
    isolate: bool = False
    read_at: float = 0.0  # when its oldest line was read (monotonic)


class Dispatcher:
    """Shards lines into per-worker batches and tracks them until acknowledged."""

    def __init__(self, spec: ChildSpec, context: zmq.Context, control: zmq.Socket,
                 dead_letters: DeadLetterWriter) -> None:
        cfg = spec.config.engine
        self.spec = spec
        self.context = context
        self.control = control
        self.dead_letters = dead_letters
        self.workers = spec.workers
        self.batch_size = cfg.batch_size
        self.linger = cfg.batch_timeout_ms / 1000
        self.split = make_splitter(cfg.shard_key, spec.workers)
        self.pushes = [self._bind(k) for k in range(spec.workers)]
        self.acks = wire.socket(context, zmq.PULL, bind=spec.endpoints.acks)
        self.acks.setsockopt(zmq.RCVHWM, 0)
        self.buffers: dict[tuple[int, str], list[bytes]] = {}
        self.buffer_groups: dict[tuple[int, str], list[AckGroup]] = {}
        self.buffer_started: dict[tuple[int, str], float] = {}
        self.buffer_read: dict[tuple[int, str], float] = {}  # when the oldest line of a buffer was read
        self.latency = LatencyHistogram()  # read -> acknowledged by the sink (written)
        self.in_flight: dict[int, InFlight] = {}
        self.next_id = 1
        self.ended: set[int] = set()
        self.restart_pending: set[int] = set()
        self.commands: list[list] = []
        self.stop_requested = False
        self.counts = {"batches": 0, "redelivered": 0, "isolated": 0, "poison": 0}

    def close(self) -> None:
        for sock in [*self.pushes, self.acks]:
            sock.close(linger=0)

    def _bind(self, worker: int) -> zmq.Socket:
        return wire.socket(self.context, zmq.PUSH, bind=self.spec.endpoints.worker(worker))

    # lines in ----------------------------------------------------------------------
    def add(self, batch: Batch) -> None:
        group = AckGroup(batch.on_done) if batch.on_done is not None else None
        tag = batch.input
        now = time.monotonic()
        for worker, lines in enumerate(self.split(batch.lines)):
            if not lines:
                continue
            key = (worker, tag)
            buffer = self.buffers.get(key)
            if buffer is None:
                buffer = self.buffers[key] = []
                self.buffer_groups[key] = []
                self.buffer_started[key] = now
                self.buffer_read[key] = batch.read_at
            if group is not None:
                self.buffer_groups[key].append(group)
            # keep batches at batch_size: a buffer that fills is sent, the rest starts the next
            room = self.batch_size - len(buffer)
            while len(lines) >= room:
                buffer.extend(lines[:room])
                lines = lines[room:]
                self.flush(key)
                buffer = self.buffers[key] = []
                self.buffer_groups[key] = [group] if group is not None and lines else []
                self.buffer_started[key] = now
                self.buffer_read[key] = batch.read_at
                room = self.batch_size
            buffer.extend(lines)
            if not buffer:
                del self.buffers[key], self.buffer_groups[key], self.buffer_started[key], self.buffer_read[key]
        if group is not None:
            group.dispatched = True
            group.maybe_done()

    def flush(self, key: tuple[int, str]) -> None:
        lines = self.buffers.pop(key)
        groups = self.buffer_groups.pop(key)
        del self.buffer_started[key]
        self.send_batch(key[0], key[1], lines, groups, read_at=self.buffer_read.pop(key))

    def flush_due(self) -> None:
        now = time.monotonic()
        for key, started in list(self.buffer_started.items()):
            if now - started >= self.linger:
                self.flush(key)

    def wait_for_lines(self) -> float:
        """How long the main loop may wait for lines: half the linger while a buffer or
        a batch waits on it, else IDLE_WAIT (a stop or a restart is noticed within that;
        an idle engine wakes 10 times a second instead of hundreds)."""
        if self.buffers or self.in_flight:
            return self.linger / 2 or 0.001
        return IDLE_WAIT

    def flush_all(self) -> None:
        for key in list(self.buffers):
            self.flush(key)

    # batches out ---------------------------------------------------------------------
    def send_batch(self, worker: int, tag: str, lines: list[bytes], groups: list[AckGroup],
                   isolate: bool = False, batch_id: int | None = None, read_at: float = 0.0) -> None:
        if batch_id is None:
            batch_id = self.next_id
            self.next_id += 1
            self.counts["batches"] += 1
        for group in groups:
            group.outstanding += 1
        self.in_flight[batch_id] = InFlight(worker, tag, lines, groups, isolate, read_at or time.monotonic())
        self._send(worker, wire.pack(["B", batch_id, tag, lines, isolate]))

    def _send(self, worker: int, data: bytes) -> None:
        """Send without ever blocking acknowledgements or restarts: while the worker's
        queue is full, keep serving them; a restart of that worker abandons the send
        (the re-delivery covers the batch)."""
        while True:
            if worker in self.restart_pending:
                return
            try:
                self.pushes[worker].send(data, zmq.NOBLOCK)
                return
            except zmq.Again:
                self.service(10)

    def end_workers(self) -> None:
        for worker in range(self.workers):
            self.ended.add(worker)
            self._send(worker, wire.pack(["E"]))

    # acknowledgements, commands ---------------------------------------------------------
    def service(self, timeout_ms: int) -> None:
        """Take acknowledgements and supervisor commands (commands run in the main loop)."""
        poller = zmq.Poller()
        poller.register(self.acks, zmq.POLLIN)
        poller.register(self.control, zmq.POLLIN)
        ready = dict(poller.poll(timeout_ms))
        if self.acks in ready:
            while True:
                try:
                    message = wire.unpack(self.acks.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                for batch_id in message[1]:
                    self._acknowledged(batch_id)
        if self.control in ready:
            while True:
                try:
                    command = wire.unpack(self.control.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                if command[0] == "stop":
                    self.stop_requested = True
                elif command[0] == "replacing":  # hold its batches until its replacement is ready
                    self.restart_pending.add(command[1])
                elif command[0] == "restarted":
                    self.restart_pending.add(command[1])
                    self.commands.append(command)

    def in_flight_per_worker(self) -> dict[int, int]:
        """Batches sent to each worker and not yet written (a queue depth)."""
        counts = dict.fromkeys(range(self.workers), 0)
        for record in self.in_flight.values():
            counts[record.worker] += 1
        return counts

    def _acknowledged(self, batch_id: int) -> None:
        record = self.in_flight.pop(batch_id, None)
        if record is not None:
            self.latency.observe(time.monotonic() - record.read_at, len(record.lines))
            for group in record.groups:
                group.release()

    def run_commands(self) -> None:
        while self.commands:
            _, worker, crashed, culprit, finished = self.commands.pop(0)
            self.redeliver(worker, crashed, culprit, set(finished))

    def redeliver(self, worker: int, crashed: int, culprit: str, finished: set[int]) -> None:
        """Worker ``worker`` was replaced: send it everything it had not finished. Its
        replacement connected to the same socket (what was queued for the old one is
        gone). ``finished``: batches a retired worker reported done, whose results are
        on their way to the sink; a batch a crashed one finished after all is written
        once (the sink drops a batch id it already wrote). Nothing goes to the new
        worker before the sink has written what the old one finished, so the events
        of a flow still leave in order."""
        while any(batch_id in self.in_flight for batch_id in finished):
            self.service(10)
        self.restart_pending.discard(worker)
        pending = sorted(bid for bid, rec in self.in_flight.items() if rec.worker == worker and bid not in finished)
        for batch_id in pending:
            # sending serves acknowledgements: a pending batch may be acknowledged meanwhile
            record = self.in_flight.pop(batch_id, None)
            if record is None:
                continue
            if batch_id != crashed:
                self.counts["redelivered"] += 1
                self.send_batch(worker, record.tag, record.lines, record.groups, record.isolate, batch_id,
                                record.read_at)
                for group in record.groups:
                    group.outstanding -= 1  # send_batch counted it again
            elif record.isolate:
                self.counts["poison"] += 1
                reason = f"worker {worker} died or was stopped while processing this record ({culprit})"
                log.error("input %s: %s; the record goes to the dead-letter file", record.tag, reason)
                self.dead_letters.write(f"input {record.tag}", "worker_crash", reason, record.lines[0])
                self.dead_letters.flush()
                for group in record.groups:
                    group.release()
            else:
                self.counts["isolated"] += 1
                for line in record.lines:
                    self.send_batch(worker, record.tag, [line], record.groups, isolate=True, read_at=record.read_at)
                for group in record.groups:
                    group.release()
        if worker in self.ended:
            self._send(worker, wire.pack(["E"]))


def source_main(spec: ChildSpec) -> None:
    """Entry point of the source process (spawned by the supervisor)."""
    child_setup("source", spec.log_level, spec.log_format, spec.quiet_scripts)
    config = spec.config
    zcontext = zmq.Context()
    control = control_socket(zcontext, spec.endpoints, "source")
    dead_letters = DeadLetterWriter(config.dead_letter_path)
    replay = bool(spec.replay_files)
    context = Context(root=config.root.path, run_dir=config.run_dir, log_dir=config.log_dir, replay=replay,
                      max_line_bytes=config.engine.max_line_bytes, dead_letters=dead_letters)
    stop = threading.Event()
    batches: queue.Queue[Batch] = queue.Queue(maxsize=64)
    try:
        options = config.input_by_tag(spec.replay_input).options if replay else {}
        sources = replay_sources(spec.replay_input, spec.replay_files, options, context) if replay \
            else build_sources(config, context)
        dispatcher = Dispatcher(spec, zcontext, control, dead_letters)
        if replay:  # one file after another, as `mle replay` promises
            threads = [threading.Thread(target=_replay_in_order, args=(sources, batches, stop, config.engine),
                                        name="replay", daemon=True)]
            threads[0].start()
        else:
            threads = start_pumps(sources, batches, stop, config.engine.batch_size,
                                  config.engine.batch_timeout_ms / 1000)
    except Exception as exc:  # a source that cannot open: the engine cannot start
        report(control, "error", getattr(exc, "exit_code", 1), str(exc))
        control.close()
        zcontext.term()
        return
    report(control, "ready")

    def progress() -> None:
        done = sum(s.progress()[0] for s in sources)
        totals = [s.progress()[1] for s in sources]
        report(control, "progress", done, None if None in totals else sum(totals))

    def periodic() -> None:  # every half second: progress of a replay, the live report for the HTTP API
        if replay:
            progress()
        report(control, "live", source_report(sources, dispatcher.latency, batches.qsize(),
                                              dispatcher.in_flight_per_worker(), dead_letters.count))

    try:
        _dispatch(dispatcher, batches, threads, stop, periodic)
        for source in sources:
            with contextlib.suppress(OSError):
                source.close()
        lines: dict[str, int] = {}
        for source in sources:
            lines[source.tag] = lines.get(source.tag, 0) + source.stats.lines
        stats = {s.tag + " " + s.description: {"lines": s.stats.lines, "bytes": s.stats.bytes,
                                               "errors": dict(s.stats.errors), "failure": s.stats.failure}
                 for s in sources}
        report(control, "done", {"sources": stats, "lines": lines, **dispatcher.counts,
                                 "dead_letters": dead_letters.count})
    except Exception as exc:  # never report a clean finish for a failure: the supervisor stops
        log.exception("the source process failed")
        report(control, "error", 1, f"the source process failed: {exc}")
        raise
    finally:
        dead_letters.close()
        dispatcher.close()
        control.close()  # lingers until the report is out
        zcontext.term()


def _replay_in_order(sources: list[Source], batches: queue.Queue, stop: threading.Event, engine: object) -> None:
    for source in sources:
        read_to_end(source, engine.batch_size, stop, batches.put)  # type: ignore[attr-defined]


def _dispatch(dispatcher: Dispatcher, batches: queue.Queue, threads: list[threading.Thread],
              stop: threading.Event, progress: Callable[[], None] | None = None) -> None:
    """The main loop: lines to workers until stopped or the inputs end, then drain."""
    next_progress = time.monotonic()
    while True:
        if progress is not None and time.monotonic() >= next_progress:
            progress()
            next_progress = time.monotonic() + 0.5
        try:
            batch = batches.get(timeout=dispatcher.wait_for_lines())
        except queue.Empty:
            batch = None
        if batch is not None:
            dispatcher.add(batch)
        dispatcher.flush_due()
        dispatcher.service(0)
        dispatcher.run_commands()
        inputs_done = batch is None and batches.empty() and not any(t.is_alive() for t in threads)
        if dispatcher.stop_requested or inputs_done:
            break
    # drain: stop reading, pass on what was read, tell the workers, wait for the acks
    stop.set()
    while any(t.is_alive() for t in threads) or not batches.empty():
        with contextlib.suppress(queue.Empty):
            dispatcher.add(batches.get(timeout=0.05))
        dispatcher.service(0)
    dispatcher.flush_all()
    dispatcher.end_workers()
    # a worker being replaced (a reload's retirement or a crash) gets its end of input
    # from redeliver() once its replacement is ready: wait for it even with nothing in flight
    while dispatcher.in_flight or dispatcher.commands or dispatcher.restart_pending:
        dispatcher.service(100)
        dispatcher.run_commands()
