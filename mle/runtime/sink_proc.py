"""The sink process: results of every worker in, written to the outputs, acknowledged.

It writes each result batch to its sinks (``Delivery``: failed writes go to the
dead-letter file), then acknowledges the batch id to the source, which only then
forgets the batch (and, for a Redis stream input, XACKs it). A batch that arrives
twice (re-delivered after a worker restart raced with its first result) is
written once. Each result carries the change of its worker's counters; the sink
adds up those of the results it writes, so the run's counts cover exactly the
work that was written (that of a worker killed mid-batch is counted once, by its
replacement). The sink ends when every worker has said it is done.
"""

from __future__ import annotations

import collections
import time

import zmq

from mle.connectors import Context
from mle.deadletter import DeadLetterWriter
from mle.delivery import Delivery
from mle.findings import FindingScanner
from mle.runtime import wire
from mle.runtime.live import LIVE_INTERVAL, sink_report
from mle.runtime.processes import ChildSpec, child_setup, control_socket, report
from mle.summary import add_counters

_REMEMBERED = 1 << 16  # batch ids kept for duplicate suppression


class _Recent:
    """A bounded set of recently written batch ids."""

    def __init__(self, size: int) -> None:
        self._order: collections.deque[int] = collections.deque(maxlen=size)
        self._ids: set[int] = set()

    def add(self, batch_id: int) -> None:
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(batch_id)
        self._ids.add(batch_id)

    def __contains__(self, batch_id: int) -> bool:
        return batch_id in self._ids


def sink_main(spec: ChildSpec) -> None:
    """Entry point of the sink process (spawned by the supervisor)."""
    child_setup("sink", spec.log_level, spec.log_format, spec.quiet_scripts)
    context = zmq.Context()
    control = control_socket(context, spec.endpoints, "sink")
    dead_letters = DeadLetterWriter(spec.config.dead_letter_path)
    config = spec.config
    delivery = Delivery(
        config,
        Context(root=config.root.path, run_dir=config.run_dir, log_dir=config.log_dir,
                max_line_bytes=config.engine.max_line_bytes, dead_letters=dead_letters),
        dead_letters,
        spec.out,
    )
    try:
        delivery.open()
    except OSError as exc:
        report(control, "error", 1, str(exc))
        control.close()
        context.term()
        return
    pull = wire.socket(context, zmq.PULL, bind=spec.endpoints.sink)
    acks = wire.socket(context, zmq.PUSH, connect=spec.endpoints.acks)
    acks.setsockopt(zmq.SNDHWM, 0)  # acks are tiny; never block the sink on them
    acks.setsockopt(zmq.LINGER, 5000)
    findings = delivery.tap = FindingScanner()  # the latest findings, for the HTTP API
    next_live = time.monotonic()
    report(control, "ready")
    written = _Recent(_REMEMBERED)
    totals: dict = {}  # the workers' counters for every result written
    ended: set[int] = set()
    duplicates = 0
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(control, zmq.POLLIN)
    try:
        while len(ended) < spec.workers:
            ready = dict(poller.poll(200))
            if time.monotonic() >= next_live:
                report(control, "live", sink_report(delivery, dead_letters, findings))
                next_live = time.monotonic() + LIVE_INTERVAL
            if pull in ready:
                done: list[int] = []
                for _ in range(64):  # a few messages per wake-up, acknowledged together
                    try:
                        message = wire.unpack(pull.recv(zmq.NOBLOCK))
                    except zmq.Again:
                        break
                    if message[0] == "R":
                        _, batch_id, _, results, counted = message
                        if batch_id is not None and batch_id in written:
                            duplicates += 1
                        else:
                            delivery.write(results)
                            add_counters(totals, counted)
                            if batch_id is not None:
                                written.add(batch_id)
                        if batch_id is not None:
                            done.append(batch_id)
                    elif message[0] == "E":
                        ended.add(message[1])
                if done:
                    acks.send(wire.pack(["A", done]))
            if control in ready:
                command = wire.unpack(control.recv())
                if command[0] == "reopen":
                    delivery.reopen()
                elif command[0] == "rotate":
                    delivery.rotate()
                elif command[0] == "restarted":
                    ended.discard(command[1])
                elif command[0] == "stats":
                    report(control, "stats", _counters(delivery, dead_letters, duplicates, totals))
    finally:
        delivery.close()
        dead_letters.close()
        report(control, "done", _counters(delivery, dead_letters, duplicates, totals))
        pull.close()
        acks.close()
        control.close()
        context.term()


def _counters(delivery: Delivery, dead_letters: DeadLetterWriter, duplicates: int, totals: dict) -> dict:
    return {
        "outputs": [report.as_dict() for report in delivery.output_reports()],
        "written": delivery.written(),
        "failed": delivery.failed,
        "dead_letters": dead_letters.count,
        "duplicates": duplicates,
        "counters": totals,
    }
