"""``nats://[user:password@]HOST:PORT/SUBJECT``: one NATS message per document.

A token goes in the user part alone (``nats://TOKEN@host:4222/subject``) or in
the ``token`` option; ``user``/``password`` options override the URI.

Why a hand-written client: publishing needs four protocol messages (``INFO``,
``CONNECT``, ``PUB``, ``PING``/``PONG``). ``nats-py`` is asyncio-only and would
need an event loop in a thread plus a bridge for the blocking
:meth:`NatsSink.write_batch`; a blocking socket is smaller, has no dependency,
and makes the acknowledgement explicit: each batch is written as ``PUB``\\ s
followed by one ``PING``, and :meth:`write_batch` returns only when the server's
``PONG`` arrives, which NATS sends after it has processed every message before
it. Not covered: TLS, NKEY/JWT credentials, JetStream publish acknowledgements.

Delivery: at least once to the server (core NATS then delivers to the
subscribers present, at most once). While the server is unreachable, or when a
connection breaks before the ``PONG``, the sink reconnects with exponential
backoff and jitter and sends the whole batch again, so the pipeline waits
(backpressure) and a broken batch may arrive twice. A document larger than the
server's ``max_payload`` (1 MiB by default) goes to the dead-letter file; a
``-ERR`` from the server (e.g. a permissions violation) raises OSError and the
engine dead-letters the batch.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sinks.address import HostPort, parse_host_port
from mle.sinks.backoff import Backoff, ThrottledLog
from mle.sinks.base import Sink

log = logging.getLogger("mle.sinks.nats")

EXAMPLE = "nats://127.0.0.1:4222/suricata.eve"


class NatsError(ConnectionError):
    """The server refused something (``-ERR``) or broke the protocol."""


class NatsRefused(Exception):
    """The server refused a publication with ``-ERR`` on a working connection (not retried)."""


def encode_batch(subject: bytes, documents: list[bytes]) -> bytes:
    """``PUB`` commands for every document, then a ``PING`` (pure).

    >>> encode_batch(b"s", [b"{}"])
    b'PUB s 2\\r\\n{}\\r\\nPING\\r\\n'
    """
    parts = [b"PUB %s %d\r\n%s\r\n" % (subject, len(doc), doc) for doc in documents]
    parts.append(b"PING\r\n")
    return b"".join(parts)


def valid_subject(subject: str) -> bool:
    """A publishable subject: dot-separated non-empty tokens, no wildcards or whitespace."""
    if not subject or any(c.isspace() for c in subject):
        return False
    return all(token and token not in ("*", ">") for token in subject.split("."))


class NatsConnection:
    """One blocking client connection that publishes and waits for PONGs."""

    def __init__(self, server: HostPort, token: str | None, name: str, timeout: float) -> None:
        self.server = server
        self.token = token
        self.name = name
        self.timeout = timeout
        self.info: dict[str, Any] = {}
        self._sock: socket.socket | None = None
        self._buffer = bytearray()

    @property
    def max_payload(self) -> int:
        return int(self.info.get("max_payload", 1 << 20))

    def connect(self) -> None:
        """Connect and authenticate. Raises OSError or NatsError."""
        self._sock = socket.create_connection((self.server.host, self.server.port), timeout=self.timeout)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        line = self._read_line()
        if not line.startswith(b"INFO "):
            raise NatsError(f"nats://{self.server} is not a NATS server (it said {line[:40]!r})")
        self.info = orjson.loads(line[5:])
        if self.info.get("tls_required"):
            raise NatsError(f"nats://{self.server} requires TLS, which this output does not speak")
        options: dict[str, Any] = {"verbose": False, "pedantic": False, "tls_required": False, "name": self.name,
                                   "lang": "python-mle", "version": "0.1.0", "protocol": 1}
        if self.server.user is not None:
            options["user"] = self.server.user
            options["pass"] = self.server.password or ""
        if self.token is not None:
            options["auth_token"] = self.token
        self._sock.sendall(b"CONNECT " + orjson.dumps(options) + b"\r\nPING\r\n")
        try:
            self._await_pong()
        except NatsRefused as exc:  # e.g. an authorization violation: retried like an outage, and logged
            raise NatsError(f"nats://{self.server} refused the connection: {exc}") from None

    def publish(self, data: bytes) -> None:
        """Send pre-encoded ``PUB``\\ s ending in a ``PING`` and wait for the ``PONG``."""
        assert self._sock is not None
        self._sock.sendall(data)
        self._await_pong()

    def _await_pong(self) -> None:
        while True:
            line = self._read_line()
            if line == b"PONG":
                return
            if line == b"PING":
                assert self._sock is not None
                self._sock.sendall(b"PONG\r\n")
            elif line.startswith(b"-ERR"):
                raise NatsRefused(line[4:].strip().strip(b"'").decode(errors="replace"))
            elif line.startswith(b"INFO "):
                self.info.update(orjson.loads(line[5:]))
            # +OK and anything else: nothing to do

    def _read_line(self) -> bytes:
        assert self._sock is not None
        deadline = time.monotonic() + self.timeout
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 2]
                return line
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats://{self.server} did not answer within {self.timeout:.0f} s")
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"nats://{self.server} closed the connection")
            self._buffer += chunk

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self._buffer.clear()


class NatsSink(Sink):
    """Publish each document to a subject; a batch is acknowledged by one PING/PONG."""

    OPTIONS: Mapping[str, type | tuple] = {
        "user": str, "password": str, "token": str, "name": str, "timeout": float, "reconnect_max": float,
    }

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        authority, _, subject = endpoint.rest.partition("/")
        if not valid_subject(subject):
            raise ConfigError(f'{endpoint.label}: "nats://{endpoint.rest}" needs a subject without wildcards '
                              f"or spaces (e.g. {EXAMPLE})")
        server = parse_host_port(authority, endpoint.label, EXAMPLE, default_port=4222)
        token = opts.get("token")
        if server.user is not None and server.password is None and token is None:
            token, server = server.user, HostPort(server.host, server.port)  # nats://TOKEN@host
        user = opts.get("user", server.user)
        password = opts.get("password", server.password)
        self.server = HostPort(server.host, server.port, user, password)
        self.subject = subject.encode()
        self.timeout: float = opts.get("timeout", 10.0)
        self.reconnect_max: float = opts.get("reconnect_max", 5.0)
        self.counts: Counter[str] = Counter()
        self._connection = NatsConnection(self.server, token, opts.get("name", f"mle-{tag}"), self.timeout)
        self._connected = False
        self._warn = ThrottledLog(log)

    @property
    def description(self) -> str:
        return f"nats://{self.server}/{self.subject.decode()}"

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        backoff = Backoff(0.1, self.reconnect_max)
        while True:
            try:
                if not self._connected:
                    self._connection.connect()
                    self._connected = True
                    self.counts["connections"] += 1
                    if backoff.attempt:
                        log.info("output %s: connected to %s", self.tag, self.description)
                        self._warn.reset()
                sendable = self._without_oversized(lines)
                if sendable:
                    self._connection.publish(encode_batch(self.subject, sendable))
                break
            except NatsRefused as exc:
                self._drop_connection()
                self.stats.errors["refused"] += len(lines)
                raise OSError(f"{self.endpoint.label}: {self.description} refused the batch: {exc}") from None
            except (OSError, NatsError, ValueError) as exc:
                self._drop_connection()
                self.counts["retries"] += 1
                self._warn(logging.WARNING, "output %s: %s: %s; retrying, the pipeline waits", self.tag,
                           self.description, exc)
                time.sleep(backoff.next())
        self.counts["published"] += len(sendable)
        self.stats.lines += len(sendable)
        self.stats.bytes += sum(len(line) for line in sendable)

    def _without_oversized(self, lines: list[bytes]) -> list[bytes]:
        limit = self._connection.max_payload
        if all(len(line) <= limit for line in lines):
            return lines
        keep = [line for line in lines if len(line) <= limit]
        big = [line for line in lines if len(line) > limit]
        self.counts["too_big"] += len(big)
        self.stats.errors["too_big"] += len(big)
        for line in big:
            self._write_dead_letters([line], "too_big",
                                     f"{len(line)} bytes is more than the server's max_payload of {limit}")
        return keep

    def _drop_connection(self) -> None:
        self._connection.close()
        self._connected = False

    def close(self) -> None:
        self._drop_connection()
