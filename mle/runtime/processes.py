"""What every child process of the engine shares: its spec, logging, signals, control."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import signal
from dataclasses import dataclass, field

import setproctitle
import zmq

from mle import logformat
from mle.config import Config
from mle.redis.pipe import RedisAddress
from mle.runtime import wire
from mle.runtime.gc_tuning import relax_cyclic_gc
from mle.runtime.wire import Endpoints


@dataclass(frozen=True)
class ChildSpec:
    """Everything a child process needs (picklable: children are spawned)."""

    config: Config
    endpoints: Endpoints
    redis: RedisAddress
    workers: int
    log_level: int = logging.WARNING
    log_format: str = "text"  # text, json or kv (mle.logformat)
    quiet_scripts: bool = False  # scripts' print() not shown
    keep_going: bool = False
    out: str | None = None  # sink: everything to one file ("-" = stdout)
    replay_files: tuple[str, ...] = ()  # source: replay these files instead of the inputs
    replay_input: str = ""  # source: the input whose script replayed files go through
    quarantined: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (kind, tag) for new workers


def child_setup(name: str, level: int, log_format: str = "text", quiet_scripts: bool = False) -> None:
    """Process title ("mle: worker-0" in ps/top), logging with the process's name;
    signals belong to the supervisor."""
    setproctitle.setproctitle(f"mle: {name}")
    die_with_parent()
    relax_cyclic_gc()
    logformat.configure(level, log_format, name, quiet_scripts)
    # Ctrl-C reaches the whole process group, and so does a SIGTERM from `timeout`,
    # `kill -- -PGID` or a service manager that signals every process: only the
    # supervisor acts on them (a drain); it stops a child itself with SIGKILL
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_IGN)
    enable_stack_dumps()


def enable_stack_dumps() -> None:
    """SIGUSR2 prints every thread's Python stack to standard error and the process
    goes on (to see where a stalled engine waits: ``pkill -USR2 -f '^mle: '``)."""
    faulthandler.register(signal.SIGUSR2, all_threads=True)


def die_with_parent() -> None:
    """Linux: get SIGKILL when the supervisor dies, even by SIGKILL (no orphans)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def control_socket(context: zmq.Context, endpoints: Endpoints, name: str) -> zmq.Socket:
    """The child's line to the supervisor (reports up, commands down)."""
    sock = wire.socket(context, zmq.DEALER, connect=endpoints.control, identity=name)
    sock.setsockopt(zmq.LINGER, 2000)  # a last report must reach the supervisor
    sock.setsockopt(zmq.SNDHWM, 0)
    return sock


def report(control: zmq.Socket, *message: object) -> None:
    control.send(wire.pack(list(message)))
