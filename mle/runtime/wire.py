"""How the engine's processes talk: ZeroMQ ipc sockets, msgpack messages.

Data (batches of raw lines, never decoded records: re-parsing JSON in a worker
is cheaper than unpacking dicts):

    source --PUSH w<k>--> worker k --PUSH sink--> sink --PUSH acks--> source
      ["B", batch_id, input_tag, [line, ...], isolate]    a batch for a worker
      ["E"]                                               end of input (drain)
      ["R", batch_id, worker_id, [[output, [doc, ...]], ...], counters]   what a batch produced,
                                                          and how the worker's counters changed
      ["E", worker_id]                                    a worker is done
      ["A", [batch_id, ...]]                              batches the outputs accepted

Control: the supervisor binds a ROUTER; every child connects a DEALER named after
itself ("source", "sink", "worker-0", ...) and sends reports (["ready"], ["stats",
{...}], ["error", text], ["done", {...}], a worker's ["retired", {...}, [batch_id,
...]]); the supervisor sends commands (["stop"], ["reopen"], ["rotate"],
["quarantine", tag], a worker's ["retire"], the sink's ["restarted", worker_id], the
source's ["replacing", worker_id] (hold that worker's batches) and ["restarted",
worker_id, crashed_batch_id, culprit, [finished batch_id, ...]] (re-send them).

Every socket has small high-water marks, so a slow stage stops the one before it
(backpressure) and memory stays bounded.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import msgpack
import zmq

HWM = 8  # messages (batches) queued per socket direction
_MAX_IPC_PATH = 100


def pack(message: Any) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


class Endpoints:
    """The ipc endpoints of one engine, in its run directory (or a short temporary
    directory when the run directory's path is too long for a unix socket)."""

    def __init__(self, run_dir: Path) -> None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self._temporary: str | None = None
        if len(str(run_dir / "mle-worker-99.ipc")) > _MAX_IPC_PATH:
            self._temporary = tempfile.mkdtemp(prefix="mle-")
            run_dir = Path(self._temporary)
        self.dir = run_dir

    def _ipc(self, name: str) -> str:
        return f"ipc://{self.dir}/mle-{name}.ipc"

    def worker(self, index: int) -> str:
        return self._ipc(f"worker-{index}")

    @property
    def sink(self) -> str:
        return self._ipc("sink")

    @property
    def acks(self) -> str:
        return self._ipc("acks")

    @property
    def control(self) -> str:
        return self._ipc("control")

    def heartbeat_file(self, index: int) -> Path:
        return self.dir / f"mle-worker-{index}.beat"

    def remove_stale(self) -> None:
        """Delete sockets and heartbeat files an earlier engine left behind."""
        for pattern in ("mle-*.ipc", "mle-*.beat"):
            for path in self.dir.glob(pattern):
                path.unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Remove everything this engine created (at exit)."""
        self.remove_stale()
        if self._temporary:
            shutil.rmtree(self._temporary, ignore_errors=True)


def socket(context: zmq.Context, kind: int, *, bind: str | None = None, connect: str | None = None,
           identity: str | None = None) -> zmq.Socket:
    """A socket with the engine's bounds: small high-water marks, no lingering."""
    sock = context.socket(kind)
    sock.setsockopt(zmq.SNDHWM, HWM)
    sock.setsockopt(zmq.RCVHWM, HWM)
    sock.setsockopt(zmq.LINGER, 0)
    if identity is not None:
        sock.setsockopt(zmq.IDENTITY, identity.encode())
    if bind is not None:
        sock.bind(bind)
    if connect is not None:
        sock.connect(connect)
    return sock
