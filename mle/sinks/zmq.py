"""``zmq+tcp://HOST:PORT`` and ``zmq+ipc:///PATH``: documents over ZeroMQ, one
message per document.

Options:

``socket``        "pub" (default) or "push"
``bind``          true: MLE binds, consumers connect (default for "pub"); false: MLE
                  connects to a consumer that binds (default for "push")
``topic``         "pub" only: every message is two frames, ``[topic, document]``,
                  so subscribers can filter by prefix (MLE's zmq input takes the last
                  frame); without a topic a message is the document alone
``hwm``           send high-water mark, messages per peer (default 10000)
``on_slow``       "pub" only: "drop" (default) or "block", see below
``close_timeout`` seconds a stop waits for queued messages to leave (default 10)

When MLE binds, ``zmq+tcp://*:5556`` listens on every interface and port 0 (or ``*``)
takes a free port.

Delivery, by socket type:

- **push**: a send waits while no consumer is connected or every consumer's
  queue is at the high-water mark, so a missing or slow consumer slows the
  pipeline (backpressure) and nothing is dropped while both run. At a stop,
  messages ZeroMQ still queues wait ``close_timeout`` seconds for a consumer;
  ZeroMQ cannot say how many are left after that, so they can be lost.
- **pub**: a fan-out tap. A subscriber that connects late misses what was sent
  before (ZeroMQ's "slow joiner"), and with nobody subscribed messages go
  nowhere. MLE sets ``ZMQ_XPUB_NODROP`` so that a subscriber whose queue is full
  is *detected*: with ``on_slow = "drop"`` the document is dropped for everyone
  and counted (``counts["dropped_slow_subscriber"]``, logged), never blocking
  the sensor's pipeline; with ``on_slow = "block"`` the pipeline waits for the
  slowest subscriber instead.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import zmq

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sinks.backoff import ThrottledLog
from mle.sinks.base import Sink
from mle.zmq_endpoint import attach, zmq_address

log = logging.getLogger("mle.sinks.zmq")

POLL_MS = 500


class ZmqSink(Sink):
    """A PUB or PUSH socket; one message per document."""

    OPTIONS: Mapping[str, type | tuple] = {
        "socket": str, "bind": bool, "topic": str, "hwm": int, "on_slow": str, "close_timeout": float,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        label = endpoint.label
        self.kind: str = opts.get("socket", "pub").lower()
        if self.kind not in ("pub", "push"):
            raise ConfigError(f'{label}: "socket" must be "pub" or "push", not {self.kind!r}')
        self.bind: bool = opts.get("bind", self.kind == "pub")
        self.topic: bytes = opts.get("topic", "").encode()
        if self.topic and self.kind != "pub":
            raise ConfigError(f'{label}: "topic" applies to socket = "pub" only')
        self.hwm: int = opts.get("hwm", 10_000)
        self.on_slow: str = opts.get("on_slow", "drop")
        if self.on_slow not in ("drop", "block"):
            raise ConfigError(f'{label}: "on_slow" must be "drop" or "block", not {self.on_slow!r}')
        if "on_slow" in opts and self.kind != "pub":
            raise ConfigError(f'{label}: "on_slow" applies to socket = "pub" only (push always blocks)')
        self.close_timeout: float = opts.get("close_timeout", 10.0)
        self.address = zmq_address(endpoint, context, self.bind)
        self.counts: Counter[str] = Counter()
        self._context: zmq.Context | None = None
        self._socket: zmq.Socket | None = None
        self._warn = ThrottledLog(log)

    @property
    def description(self) -> str:
        return f"{self.address} ({self.kind}, {'bind' if self.bind else 'connect'})"

    def open(self) -> None:
        context = zmq.Context(io_threads=1)
        sock = context.socket(zmq.PUB if self.kind == "pub" else zmq.PUSH)
        sock.setsockopt(zmq.SNDHWM, self.hwm)
        sock.setsockopt(zmq.LINGER, int(self.close_timeout * 1000))
        if self.kind == "pub":
            sock.setsockopt(zmq.XPUB_NODROP, 1)  # a full subscriber queue is reported (EAGAIN), not hidden
        self.address = attach(context, sock, self.address, self.bind, self.endpoint.label)
        self._context, self._socket = context, sock

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        sock = self._socket
        assert sock is not None, "open() first"
        dropped = 0
        for line in lines:
            if not self._send(sock, line):
                dropped += 1
        if dropped:
            self.counts["dropped_slow_subscriber"] += dropped
            self.stats.errors["dropped_slow_subscriber"] += dropped
            self._warn(logging.WARNING, "output %s: a subscriber of %s is not keeping up: %d documents dropped "
                       "(on_slow = \"drop\"; %d so far)", self.tag, self.address, dropped,
                       self.counts["dropped_slow_subscriber"])
        self.stats.lines += len(lines) - dropped
        self.stats.bytes += sum(len(line) for line in lines)

    def _send(self, sock: zmq.Socket, line: bytes) -> bool:
        """Send one document; False when PUB dropped it for a slow subscriber."""
        while True:
            try:
                if self.topic:
                    sock.send_multipart((self.topic, line), zmq.NOBLOCK)
                else:
                    sock.send(line, zmq.NOBLOCK)
                return True
            except zmq.Again:
                if self.kind == "pub" and self.on_slow == "drop":
                    return False
                if not sock.poll(POLL_MS, zmq.POLLOUT):
                    self.counts["waits"] += 1
                    self._warn(logging.WARNING, "output %s: waiting for a %s peer on %s (backpressure)",
                               self.tag, "consumer" if self.kind == "push" else "subscriber", self.address)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(int(self.close_timeout * 1000))
            self._socket = None
        if self._context is not None:
            self._context.term()
            self._context = None
