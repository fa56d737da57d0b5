"""The supervisor: starts the engine's processes, watches them, stops them cleanly.

    supervisor ── private Redis (unless one is configured)
        ├── sink            outputs
        ├── worker-0..N-1   Lua, one state each
        └── source          inputs, sharding, batching

Start order is sink, workers, source, so every stage's receiver exists before
its sender. SIGTERM/SIGINT become a drain: the source stops reading, passes on
what it read and tells the workers; they finish, tell the sink; the sink writes
everything and reports; the supervisor then stops Redis and returns the summary.
SIGHUP and SIGUSR1 go to the sink (reopen / rotate file outputs).

A worker that dies, or stays inside one batch longer than ``worker_timeout``
seconds (its heartbeat says so), is killed and replaced; the source re-delivers
its unfinished batches. If the heartbeat named the script that was running (the
batch was being re-run event by event), that script is quarantined everywhere.

SIGHUP also reloads the scripts (:mod:`mle.reload`): once they load here, the
workers are retired and replaced one at a time.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import zmq

from mle.config import Config
from mle.deadletter import DeadLetterWriter
from mle.delivery import STATS_FILE
from mle.errors import MLEError
from mle.pipeline import Flags, connect_redis, start_redis, stats_line
from mle.reload import Reloader, ScriptWatcher
from mle.runtime import wire
from mle.runtime.api_bridge import SupervisorApi
from mle.runtime.heartbeat import Heartbeat
from mle.runtime.processes import ChildSpec
from mle.runtime.sink_proc import sink_main
from mle.runtime.source_proc import source_main
from mle.runtime.wire import Endpoints
from mle.runtime.worker_proc import worker_main
from mle.summary import OutputReport, Summary

log = logging.getLogger("mle.supervisor")

START_TIMEOUT = 60.0
RESTARTS_PER_MINUTE = 5


class EngineFailed(MLEError):
    """A child process could not start or the engine could not go on."""


@dataclass
class Child:
    """One process the supervisor started."""

    name: str
    process: multiprocessing.process.BaseProcess
    ready: bool = False
    done: dict | None = None
    scripts: dict[int, tuple[str, str]] = field(default_factory=dict)  # worker: script id -> (kind, tag)
    heartbeat: Heartbeat | None = None
    retired: list | None = None  # [counters, finished batch ids] from a worker retired by a reload


class Supervisor:
    """Runs the multiprocess engine once (``run()``) and returns its summary."""

    def __init__(self, config: Config, *, workers: int, flags: Flags, replay_files: tuple[str, ...] = (),
                 replay_input: str = "", out: str | None = None, keep_going: bool = False,
                 log_level: int = logging.WARNING, log_format: str = "text", quiet_scripts: bool = False,
                 on_progress: Callable[[int, int | None], None] | None = None) -> None:
        self.config = config
        self.workers = workers
        self.flags = flags
        self.spawn = multiprocessing.get_context("spawn")
        self.endpoints = Endpoints(config.run_dir)
        self.spec = ChildSpec(config=config, endpoints=self.endpoints, redis=None,  # type: ignore[arg-type]
                              workers=workers, log_level=log_level, log_format=log_format,
                              quiet_scripts=quiet_scripts, keep_going=keep_going, out=out,
                              replay_files=tuple(replay_files), replay_input=replay_input)
        self.children: dict[str, Child] = {}
        self.quarantined: set[tuple[str, str]] = set()
        self.restarts: deque[float] = deque()
        self.worker_timeout = config.engine.worker_timeout
        self.restart_count = 0
        self.to_retire: deque[int] = deque()  # workers still running the scripts of before a reload
        self.reloader = Reloader(config)
        self.watcher: ScriptWatcher | None = None  # mle run: reload when a script file changes
        self.started = 0.0
        self.on_progress = on_progress  # (bytes read, total bytes or None) while replaying
        self.api: SupervisorApi | None = None  # the HTTP API's end here, when it is served

    # the run -----------------------------------------------------------------------
    def run(self) -> Summary:
        private, address = start_redis(self.config)
        self.spec = replace(self.spec, redis=address)
        connect_redis(self.config, address, self.flags.stop).close()  # fails early; loads modules once
        self.endpoints.remove_stale()
        self.zmq = zmq.Context()
        self.control = wire.socket(self.zmq, zmq.ROUTER, bind=self.endpoints.control)
        self.control.setsockopt(zmq.RCVHWM, 0)
        self.control.setsockopt(zmq.SNDHWM, 0)
        # a replacement worker connects under its predecessor's name, possibly before the
        # old connection is seen closed: the new one must take the name over
        self.control.setsockopt(zmq.ROUTER_HANDOVER, 1)
        try:
            if self.api is not None:
                self.api.host.start(address)
            self._start_all()
            self.started = time.monotonic()
            self._watch()
            return self._summary(time.monotonic() - self.started)
        finally:
            if self.api is not None:
                self.api.host.stop()
            self._terminate_all()
            self.control.close()
            self.zmq.term()
            self.endpoints.cleanup()
            if private is not None:
                private.stop()

    def _start_all(self) -> None:
        self._start("sink", sink_main, (self.spec,))
        self._await_ready(["sink"])
        for index in range(self.workers):
            self._start_worker(index)
        self._await_ready([f"worker-{i}" for i in range(self.workers)])
        self._start("source", source_main, (self.spec,))
        self._await_ready(["source"])

    def _start(self, name: str, target: Any, args: tuple) -> Child:
        process = self.spawn.Process(target=target, args=args, name=f"mle-{name}", daemon=True)
        process.start()
        child = Child(name, process)
        self.children[name] = child
        return child

    def _start_worker(self, index: int, keep_going: bool = False) -> Child:
        spec = replace(self.spec, quarantined=tuple(sorted(self.quarantined)),
                       keep_going=self.spec.keep_going or keep_going)
        beat_path = self.endpoints.heartbeat_file(index)
        beat_path.unlink(missing_ok=True)
        child = self._start(f"worker-{index}", worker_main, (spec, index))
        return child

    def _await_ready(self, names: list[str], replacing: bool = False) -> None:
        """Wait for ``names`` to report ready. A stop during start-up ends the engine;
        a replacement (crash, reload) goes on starting, because the drain needs it."""
        deadline = time.monotonic() + START_TIMEOUT
        while not all(self.children[n].ready for n in names):
            if time.monotonic() > deadline:
                raise EngineFailed(f"{', '.join(n for n in names if not self.children[n].ready)} did not start")
            self._receive(200)
            for name in names:
                child = self.children[name]
                if not child.ready and not child.process.is_alive():
                    raise EngineFailed(f"{name} exited during start-up (exit code {child.process.exitcode})")
            if self.flags.now.is_set() or (self.flags.stop.is_set() and not replacing):
                raise EngineFailed("stopped during start-up")

    # messages from children -------------------------------------------------------------
    def _receive(self, timeout_ms: int) -> None:
        if self.api is not None:
            self.api.tick()
        if not self.control.poll(timeout_ms):
            return
        while True:
            try:
                identity, data = self.control.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._handle(identity.decode(), wire.unpack(data))

    def _handle(self, name: str, message: list) -> None:
        child = self.children.get(name)
        if child is None:
            return
        if self.api is not None:
            self.api.on_message(name, message)
        kind = message[0]
        if kind == "ready":
            child.ready = True
            if name.startswith("worker-"):
                child.scripts = {sid: (k, t) for sid, k, t in message[1]}
                child.heartbeat = Heartbeat(self.endpoints.heartbeat_file(int(name.split("-")[1])))
        elif kind == "error":
            code, text = message[1], message[2]
            error = EngineFailed(text)
            error.exit_code = code
            raise error
        elif kind == "progress":
            if self.on_progress is not None:
                self.on_progress(message[1], message[2])
        elif kind == "retired":
            child.retired = message[1:]
        elif kind in ("done", "stats"):
            child.done = message[1] if kind == "done" else child.done
            if kind == "stats":
                self._stats_reply[name] = message[1]

    def _send(self, name: str, *command: object) -> None:
        self.control.send_multipart([name.encode(), wire.pack(list(command))])

    # watching ------------------------------------------------------------------------------
    def _watch(self) -> None:
        stop_sent = False
        stop_deadline = None
        next_stats = time.monotonic() + self.config.engine.stats_interval
        self._stats_reply: dict[str, dict] = {}
        while True:
            self._receive(200)
            if self.flags.stop.is_set() and not stop_sent:
                log.info("draining: the source stops reading")
                self._send("source", "stop")
                stop_sent = True
                stop_deadline = time.monotonic() + self.config.engine.drain_timeout
            if self.flags.now.is_set() or (stop_deadline is not None and time.monotonic() > stop_deadline):
                pending = [n for n, c in self.children.items() if c.done is None]
                log.error("stopping without finishing (%s did not finish); batches still in flight are lost",
                          ", ".join(pending))
                break
            if self.flags.reopen:
                self.flags.reopen = False
                self._send("sink", "reopen")
                if not stop_sent:
                    self._reload()
            if self.flags.rotate:
                self.flags.rotate = False
                self._send("sink", "rotate")
            if self.watcher is not None and not stop_sent and not self.to_retire and self.watcher.changed():
                self._reload()
            self._check_workers()
            for name in ("source", "sink"):
                child = self.children[name]
                if child.done is None and not child.process.is_alive():
                    self._settle(child)
                    if child.done is None:
                        raise EngineFailed(f"the {name} process died (exit code {child.process.exitcode})")
            if time.monotonic() >= next_stats:
                self._write_stats()
                next_stats = time.monotonic() + self.config.engine.stats_interval
            if all(c.done is not None for c in self.children.values()):
                break
        self._write_stats()

    def _check_workers(self) -> None:
        for index in range(self.workers):
            child = self.children[f"worker-{index}"]
            if child.done is not None:
                continue
            if not child.process.is_alive():
                self._settle(child)
                if child.done is not None:
                    continue
            if child.retired is not None:
                child.process.join(10)  # its last results are flushed to the sink on exit
                if not child.process.is_alive():
                    self._replace_retired(index, child)
                continue
            beat = child.heartbeat.read() if child.heartbeat else None
            if child.process.is_alive():
                if beat is not None and beat.busy_for() > self.worker_timeout:
                    log.error("worker-%d has been inside one batch for %.0f s: stopping it", index, beat.busy_for())
                    child.process.kill()
                    child.process.join(5)
                else:
                    continue
            self._replace_worker(index, child, beat)

    def _settle(self, child: Child, seconds: float = 1.0) -> None:
        """A child that exited on purpose reported why just before: take that report
        (it may still be on its way) before taking the exit for a crash."""
        deadline = time.monotonic() + seconds
        while child.done is None and child.retired is None and time.monotonic() < deadline:
            self._receive(50)

    def _replace_worker(self, index: int, child: Child, beat: Any) -> None:
        now = time.monotonic()
        self.restarts.append(now)
        while self.restarts and now - self.restarts[0] > 60:
            self.restarts.popleft()
        if len(self.restarts) > RESTARTS_PER_MINUTE:
            raise EngineFailed(f"workers died {len(self.restarts)} times in a minute; giving up")
        crashed = beat.batch_id if beat is not None and beat.state == 1 else -1
        culprit = "script unknown"
        if beat is not None and beat.state == 1 and beat.script_id in child.scripts:
            kind, tag = child.scripts[beat.script_id]
            culprit = f"in {kind} {tag}"
            if (kind, tag) not in self.quarantined:
                self.quarantined.add((kind, tag))
                log.error("quarantining %s %s: a worker died or hung inside it", kind, tag)
                for other in range(self.workers):
                    if other != index and self.children[f"worker-{other}"].done is None:
                        self._send(f"worker-{other}", "quarantine", kind, tag)
        log.error("worker-%d exited (code %s) in batch %s; starting a new one", index, child.process.exitcode,
                  crashed if crashed >= 0 else "none")
        self.restart_count += 1
        self._send("source", "replacing", index)
        self._restart_worker(index, child, crashed, culprit, [])

    def _restart_worker(self, index: int, old: Child, crashed: int, culprit: str, finished: list[int],
                        keep_going: bool = False) -> None:
        """Start worker ``index`` anew in place of ``old`` (already gone), then have the
        source re-send what the old one left: the batch it crashed in (-1: none) is
        re-run event by event; ``finished`` batches are not re-sent."""
        if old.heartbeat:
            old.heartbeat.close()
        self._start_worker(index, keep_going)
        self._await_ready([f"worker-{index}"], replacing=True)
        self._send("sink", "restarted", index)
        self._send("source", "restarted", index, crashed, culprit, finished)

    # reloading scripts (SIGHUP) --------------------------------------------------------
    def _reload(self) -> None:
        """Check the scripts on disk here; if they load, retire the workers one by one."""
        pipe = connect_redis(self.config, self.spec.redis, self.flags.stop, load_modules=False)
        dead_letters = DeadLetterWriter(self.config.dead_letter_path)
        try:
            loaded = self.reloader.load(self.config, pipe, dead_letters)
        finally:
            pipe.close()
            dead_letters.close()
        if loaded is None:
            if self.api is not None:
                self.api.reloaded(False, self.reloader.last_error)
            return
        config = loaded[0]
        self.config = config
        self.spec = replace(self.spec, config=config)  # replacement workers load the new analyzers
        if self.api is not None:
            self.api.host.config = config
        self.quarantined.clear()  # the new scripts start clean
        self.to_retire = deque(range(self.workers))
        self._retire_next()

    def _retire_next(self) -> None:
        if self.flags.stop.is_set():  # draining: the workers finish with the scripts they have
            self.to_retire.clear()
        while self.to_retire:
            index = self.to_retire.popleft()
            child = self.children[f"worker-{index}"]
            if child.done is None and child.retired is None and child.process.is_alive():
                self._send("source", "replacing", index)
                self._send(child.name, "retire")
                return
        log.info("scripts reloaded")
        if self.api is not None:
            self.api.reloaded(True)  # every worker runs the new scripts

    def _replace_retired(self, index: int, child: Child) -> None:
        _, finished = child.retired  # type: ignore[misc]  # its counters reached the sink with its results
        # keep_going: a script that fails to set up now (changed since the check) is quarantined, not fatal
        self._restart_worker(index, child, -1, "", finished, keep_going=True)
        self._retire_next()

    # counters --------------------------------------------------------------------------
    def _sink_report(self) -> dict:
        """The sink's counters: its final report once it is done, else fresh ones. The
        workers' counters are those of the results the sink wrote (see :mod:`.sink_proc`)."""
        sink = self.children["sink"]
        if sink.done is not None:
            return sink.done
        self._stats_reply = {}
        self._send("sink", "stats")
        deadline = time.monotonic() + 2
        while "sink" not in self._stats_reply and time.monotonic() < deadline:
            self._receive(50)
        return self._stats_reply.get("sink", {})

    def _write_stats(self) -> None:
        report = self._sink_report()
        counters = report.get("counters", {})
        if not counters.get("scripts"):
            return
        line = stats_line(counters, report.get("written", 0), self._dead_letters(report))
        path = self.config.log_dir / STATS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            f.write(line + b"\n")

    def _dead_letters(self, sink: dict) -> int:
        """Dead letters of the workers (in the sink's counters), the sink and the source."""
        source = self.children["source"].done or {}
        return sink.get("counters", {}).get("dead_letters", 0) + sink.get("dead_letters", 0) \
            + source.get("dead_letters", 0)

    def _summary(self, seconds: float) -> Summary:
        sink = self.children["sink"].done or {}
        source = self.children["source"].done or {}
        outputs = [OutputReport(**report) for report in sink.get("outputs", [])]
        summary = Summary.from_counters(seconds, sink.get("counters", {}), outputs, self._dead_letters(sink),
                                        str(self.config.dead_letter_path))
        if source.get("lines"):  # every line read, those dead-lettered for killing a worker included
            summary.lines_in = dict(source["lines"])
        summary.input_failures = [s["failure"] for s in source.get("sources", {}).values() if s.get("failure")]
        summary.workers = self.workers
        summary.restarts = self.restart_count
        summary.poison = source.get("poison", 0)
        return summary

    def _terminate_all(self) -> None:
        """Stop every child now (they ignore SIGTERM: it is the supervisor's to act on)."""
        for child in self.children.values():
            if child.process.is_alive():
                child.process.kill()
        for child in self.children.values():
            child.process.join()
            if child.heartbeat:
                child.heartbeat.close()


def default_workers() -> int:
    """One worker per core."""
    return max(1, os.cpu_count() or 1)

