"""A worker process: batches from the source in, results to the sink out.

Each worker owns one Lua state with every script, its own Redis connection and
its own timers (a timer fires in the worker whose event armed it). It reports to
the supervisor when ready, on request, and when done; it marks every batch in its
heartbeat so a stuck batch can be found, and in isolation mode (a batch re-run
event by event after a crash) it also records which script is running.

Told to retire (a script reload: its replacement loads the new scripts), it
finishes the batch it is in, fires its pending timers, and reports its counters
and the ids of the batches it finished, so the source re-sends only the others.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

import zmq

from mle.deadletter import DeadLetterWriter
from mle.errors import MLEError
from mle.redis.pipe import RedisPipe
from mle.runtime import wire
from mle.runtime.heartbeat import Heartbeat
from mle.runtime.live import LIVE_INTERVAL
from mle.runtime.processes import ChildSpec, child_setup, control_socket, report
from mle.summary import counters_since
from mle.worker import BatchResult, Worker

FINISHED_REMEMBERED = 1024  # batch ids a retiring worker reports as done (far more than can be in flight)


def worker_main(spec: ChildSpec, index: int) -> None:
    """Entry point of worker ``index`` (spawned by the supervisor)."""
    name = f"worker-{index}"
    child_setup(name, spec.log_level, spec.log_format, spec.quiet_scripts)
    context = zmq.Context()
    control = control_socket(context, spec.endpoints, name)
    try:
        pipe = RedisPipe(spec.redis, stop=threading.Event())
        pipe.connect()
        dead_letters = DeadLetterWriter(spec.config.dead_letter_path)
        worker = Worker(spec.config, pipe, dead_letters, keep_going=spec.keep_going, worker_id=index)
        worker.start()
    except MLEError as exc:
        report(control, "error", exc.exit_code, str(exc))
        control.close()
        context.term()
        return
    for kind, tag in spec.quarantined:
        worker.quarantine_tag(kind, tag)
    try:
        _serve(spec, index, context, control, worker, dead_letters)
    finally:
        pipe.close()
        dead_letters.close()
        control.close()
        context.term()


def _serve(spec: ChildSpec, index: int, context: zmq.Context, control: zmq.Socket, worker: Worker,
           dead_letters: DeadLetterWriter) -> None:
    pull = wire.socket(context, zmq.PULL, connect=spec.endpoints.worker(index))
    push = wire.socket(context, zmq.PUSH, connect=spec.endpoints.sink)
    push.setsockopt(zmq.LINGER, -1)  # every result reaches the sink
    beat = Heartbeat(spec.endpoints.heartbeat_file(index))
    engine = worker.engine

    counted: list[dict | None] = [None]  # the counters at the last send

    def send(batch_id: int | None, result: BatchResult) -> None:
        # each result carries the counters' change since the last one: the sink adds up
        # those of the results it writes, so a killed worker's work is counted once
        now = worker.counters()
        push.send(wire.pack(["R", batch_id, index, list(result.lines.items()), counters_since(now, counted[0])]))
        counted[0] = now
        dead_letters.flush()

    send(None, worker.take_output())  # what setup() sent
    scripts = [[i, info.kind, info.tag] for i, info in engine.scripts.items()]
    report(control, "ready", scripts)
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(control, zmq.POLLIN)
    finished: deque[int] = deque(maxlen=FINISHED_REMEMBERED)
    next_live = time.monotonic()
    try:
        while True:
            if time.monotonic() >= next_live:  # counters for the HTTP API
                report(control, "live", {**worker.counters(), "event_types": engine.declared_event_types()})
                next_live = time.monotonic() + LIVE_INTERVAL
            due = worker.timers.next_due()
            timeout = 200 if due is None else max(0, min(200, int((due - time.monotonic()) * 1000) + 1))
            ready = dict(poller.poll(timeout))
            if pull in ready:
                message = wire.unpack(pull.recv())
                if message[0] == "B":
                    _, batch_id, tag, lines, isolate = message
                    beat.busy(batch_id)
                    if isolate:
                        engine.set_trace(beat.tracing)
                    result = worker.process(lines, tag)
                    if isolate:
                        engine.set_trace(None)
                    beat.idle()
                    send(batch_id, result)
                    finished.append(batch_id)
                elif message[0] == "E":
                    send(None, worker.fire_timers(math.inf))  # periodic analyzers report their last window
                    push.send(wire.pack(["E", index]))
                    report(control, "done", worker.counters())
                    return
            if control in ready:
                command = wire.unpack(control.recv())
                if command[0] == "quarantine":
                    worker.quarantine_tag(command[1], command[2])
                elif command[0] == "stats":
                    report(control, "stats", worker.counters())
                elif command[0] == "feedback":  # an analyst's verdict (HTTP API): [request id, verdict]
                    taken, result = worker.feedback(command[2])
                    send(None, result)
                    report(control, "feedback", command[1], taken)
                elif command[0] == "retire":
                    send(None, worker.fire_timers(math.inf))
                    report(control, "retired", worker.counters(), list(finished))
                    return
            if due is not None and due <= time.monotonic():
                send(None, worker.fire_timers())
    finally:
        beat.close()
        pull.close()
        push.close()
