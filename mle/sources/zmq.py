"""``zmq+tcp://host:port`` and ``zmq+ipc:///path``: EVE records over ZeroMQ.

Suricata has no ZeroMQ output; this input is for forwarders and for MLE instances
chained together. Each message is a record; a message may hold several
newline-separated records, and in a multipart message the last frame is the
record (earlier frames are a topic or envelope).

Options (besides ``max_line_bytes``):

``socket``  "pull" (default) or "sub"
``bind``    true (default): MLE binds and producers connect; false: MLE connects
``topic``   for "sub": the prefix subscribed to (default "": everything)
``hwm``     receive high-water mark in messages (default 100000)

For ``zmq+tcp``, host ``*`` means all interfaces and port ``*`` or 0 a free port
(:attr:`ZmqSource.address` tells which). Relative ipc paths resolve against the
run directory. Delivery: at most once. PUSH/PULL blocks the producer when the
high-water mark is reached (no loss while both run); PUB/SUB drops messages a slow
subscriber cannot take. Messages queued in MLE when it stops are lost.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import zmq

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sources.base import Batch, Source
from mle.sources.framing import split_record
from mle.sources.guard import ReadGuard
from mle.zmq_endpoint import attach, zmq_address

POLL_SLICE_MS = 100  # close() is noticed within this


class ZmqSource(Source):
    """A PULL or SUB socket; each message is one or more records."""

    OPTIONS: Mapping[str, type | tuple] = {
        "max_line_bytes": int, "socket": str, "bind": bool, "topic": str, "hwm": int,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.kind = opts.get("socket", "pull").lower()
        if self.kind not in ("pull", "sub"):
            raise ConfigError(f'{endpoint.label}: "socket" must be "pull" or "sub", not {self.kind!r}')
        self.bind = opts.get("bind", True)
        self.topic = opts.get("topic", "").encode()
        self.hwm = opts.get("hwm", 100_000)
        self.max_line_bytes = opts.get("max_line_bytes", context.max_line_bytes)
        self.address = zmq_address(endpoint, context, self.bind)
        self.messages = 0
        self._context: zmq.Context | None = None
        self._socket: zmq.Socket | None = None
        self._guard = ReadGuard()

    @property
    def description(self) -> str:
        return f"{self.endpoint.scheme}://{self.endpoint.rest} ({self.kind}, {'bind' if self.bind else 'connect'})"

    def open(self) -> None:
        context = zmq.Context()
        sock = context.socket(zmq.PULL if self.kind == "pull" else zmq.SUB)
        sock.setsockopt(zmq.RCVHWM, self.hwm)
        sock.setsockopt(zmq.LINGER, 0)
        if self.kind == "sub":
            sock.setsockopt(zmq.SUBSCRIBE, self.topic)
        self.address = attach(context, sock, self.address, self.bind, self.endpoint.label)
        self._context, self._socket = context, sock

    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            sock = self._socket
            if self._guard.closing.is_set() or sock is None:
                return None
            lines, self._ready = self._ready, []
            received = 0
            deadline = time.monotonic() + timeout
            while len(lines) < max_lines and not self._guard.closing.is_set():
                remaining = deadline - time.monotonic()
                if not sock.poll(min(max(int(remaining * 1000), 0), POLL_SLICE_MS)):
                    if remaining <= 0:
                        break
                    continue
                while len(lines) < max_lines:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.messages += 1
                    record = frames[-1] if len(frames) > 1 or not self.topic else _strip_topic(frames[0], self.topic)
                    received += len(record)
                    lines.extend(split_record(record, self.max_line_bytes))
                if remaining <= 0:
                    break
            return self.take(lines, max_lines, received)

    def close(self) -> None:
        self._guard.close(lambda: None, self._release)

    def _release(self) -> None:
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None
        if self._context is not None:
            self._context.term()
            self._context = None


def _strip_topic(frame: bytes, topic: bytes) -> bytes:
    """A single-frame SUB message "TOPIC{...}" or "TOPIC {...}": the record after the topic."""
    if frame.startswith(topic) and not frame.startswith(b"{"):
        return frame[len(topic):].lstrip(b" ")
    return frame
