"""The engine's side of the HTTP API (:mod:`mle.http`), for both engines.

:class:`SupervisorApi` runs in the supervisor's main loop: it publishes its
children's status, takes their live reports (workers' counters, the sink's
outputs and findings, the source's inputs, latency and queues), and carries out
the API's commands: an analyst's verdict goes to the worker that owns the
event's shard (over the control channel; the worker answers how many analyzers
took it), a reload is SIGHUP's. :class:`PipelineApi` does the same inside the
single-process engine (``--workers 0``).
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from mle.findings import FindingScanner
from mle.http.commands import FEEDBACK, RELOAD, Command, CommandFailed
from mle.http.host import ApiHost
from mle.runtime.live import LIVE_INTERVAL, sink_report

if TYPE_CHECKING:
    from mle.pipeline import Pipeline
    from mle.runtime.supervisor import Supervisor

log = logging.getLogger("mle.http")

PUBLISH_EVERY = 0.5  # seconds between updates of the processes' status
COMMAND_TIMEOUT = 30.0  # a command nobody can carry out in this time fails


class SupervisorApi:
    """The supervisor's end of the API. Call :meth:`tick` often, :meth:`on_message`
    with every report of a child, :meth:`reloaded` after a reload was checked."""

    def __init__(self, host: ApiHost, supervisor: Supervisor) -> None:
        self.host = host
        self.supervisor = supervisor
        self._waiting: list[Command] = []  # for a worker that cannot take them yet
        self._sent: dict[int, Command] = {}  # request id -> feedback sent to a worker
        self._reloads: list[Command] = []
        self._next_id = 1
        self._next_publish = 0.0
        host.state.engine["pid"] = os.getpid()

    def tick(self) -> None:
        self.host.state.tick()
        if time.monotonic() >= self._next_publish:
            self._publish()
            self._next_publish = time.monotonic() + PUBLISH_EVERY
        commands, self._waiting = [*self._waiting, *self.host.commands.take()], []
        for command in commands:
            if command.future.done():
                continue
            if command.kind == FEEDBACK:
                self._feedback(command)
            elif command.kind == RELOAD:
                if self.supervisor.flags.stop.is_set():
                    command.future.set_exception(CommandFailed("the engine is stopping: nothing to reload"))
                else:
                    self.supervisor.flags.reopen = True  # the same as SIGHUP
                    self._reloads.append(command)

    def _feedback(self, command: Command) -> None:
        name = f"worker-{command.payload['worker']}"
        child = self.supervisor.children.get(name)
        if child is None or not child.ready or child.done is not None or child.retired is not None \
                or not child.process.is_alive():
            if command.expired(COMMAND_TIMEOUT):
                command.future.set_exception(CommandFailed(f"{name} did not come back in time"))
            else:
                self._waiting.append(command)  # being replaced: its successor takes it
            return
        request = self._next_id
        self._next_id += 1
        self._sent[request] = command
        self.supervisor._send(name, "feedback", request, command.payload["verdict"])

    def on_message(self, name: str, message: list) -> None:
        """A child's report (the supervisor handles its own kinds too)."""
        kind, state = message[0], self.host.state
        if kind == "live" or (kind in ("retired", "done") and name.startswith("worker-")):
            if name.startswith("worker-"):
                state.worker_report(name, self.supervisor.children[name].process.pid or 0, message[1])
            elif kind != "live":
                return
            elif name == "sink":
                state.sink_report(message[1])
            elif name == "source":
                state.source_report(message[1])
        elif kind == "feedback":
            command = self._sent.pop(message[1], None)
            if command is not None and not command.future.done():
                command.future.set_result(message[2])

    def reloaded(self, loaded: bool) -> None:
        self.host.state.reloaded(loaded)
        for command in self._reloads:
            if not command.future.done():
                command.future.set_result(loaded)
        self._reloads = []

    def _publish(self) -> None:
        state = self.host.state
        for name, child in self.supervisor.children.items():
            alive = child.process.is_alive()
            status = "done" if child.done is not None else "retiring" if child.retired is not None \
                else "exited" if not alive else "running" if child.ready else "starting"
            state.set_process(name, pid=child.process.pid, alive=alive, ready=child.ready, state=status)
        state.set_restarts(self.supervisor.restart_count)
        for request, command in list(self._sent.items()):
            if command.expired(COMMAND_TIMEOUT):  # the worker died with it
                del self._sent[request]
                if not command.future.done():
                    command.future.set_exception(CommandFailed("the worker did not answer (restarted?)"))


class PipelineApi:
    """The single-process engine's end of the API: call :meth:`tick` from its loops."""

    def __init__(self, host: ApiHost, pipeline: Pipeline) -> None:
        self.host = host
        self.pipeline = pipeline
        self.findings = FindingScanner()
        pipeline.delivery.tap = self.findings
        self._next_publish = 0.0
        host.state.engine["pid"] = os.getpid()

    def tick(self, queued: int = 0) -> None:
        """Publish (every second) and carry out the API's commands; ``queued``: batches
        read and waiting."""
        state, pipeline = self.host.state, self.pipeline
        state.tick()
        if time.monotonic() >= self._next_publish:
            self._next_publish = time.monotonic() + LIVE_INTERVAL
            self._publish(queued)
        for command in self.host.commands.take():
            if command.future.done():
                continue
            try:
                if command.kind == FEEDBACK:
                    assert pipeline.worker is not None
                    taken, result = pipeline.worker.feedback(command.payload["verdict"])
                    pipeline.write(result)
                    command.future.set_result(taken)
                elif command.kind == RELOAD:
                    loaded = pipeline.sighup()
                    state.reloaded(loaded)
                    command.future.set_result(loaded)
            except Exception as exc:  # the API reports it; the engine goes on
                log.exception("HTTP API command %s failed", command.kind)
                command.future.set_exception(CommandFailed(str(exc)))

    def _publish(self, queued: int) -> None:
        state, pipeline = self.host.state, self.pipeline
        assert pipeline.worker is not None
        counters: dict[str, Any] = {**pipeline.worker.counters(),
                                    "event_types": pipeline.worker.engine.declared_event_types()}
        state.set_process("worker-0", pid=os.getpid(), alive=True, ready=True, state="running")
        state.worker_report("worker-0", len(pipeline.retired), counters)  # a reload replaces the worker
        report = sink_report(pipeline.delivery, pipeline.dead_letters, self.findings)
        report["dead_letters"] = 0  # one writer in one process: the worker's counters hold them all
        state.sink_report(report)
        state.source_report({"lines": dict(counters["lines_in"]), "latency": pipeline.latency.as_dict(),
                             "queued": queued, "in_flight": {}, "dead_letters": 0})
