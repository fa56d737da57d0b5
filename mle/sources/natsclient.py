"""A minimal subscriber for the NATS client protocol (text over TCP).

Why hand-written: a NATS subscriber needs five protocol messages (``INFO``,
``CONNECT``, ``SUB``, ``PING``/``PONG``, ``MSG``/``HMSG``), while the official
``nats-py`` is asyncio-only and would need its own event loop running inside the
source's thread, plus a bridge back to the blocking ``read_batch`` call. A
non-blocking socket read by the source's ``select`` loop is smaller, has no
dependency, and makes close and reconnect explicit. Not covered: TLS, JetStream,
NKEY/JWT credentials (user/password and token are).

The caller owns the loop: :meth:`NatsSubscriber.connect` (blocking handshake,
subscriptions re-sent on every reconnect), then, when :meth:`fileno` is readable,
:meth:`receive` returns the payloads that arrived. Server ``PING``\\ s are answered
inside :meth:`receive`.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field

import orjson

RECV_SIZE = 256 << 10
CLIENT_VERSION = "0.1.0"


class NatsError(ConnectionError):
    """The server refused something (``-ERR``) or broke the protocol."""


@dataclass(frozen=True)
class NatsServer:
    """Where the server is and how to authenticate."""

    host: str = "127.0.0.1"
    port: int = 4222
    user: str | None = None
    password: str | None = None
    token: str | None = None

    def __str__(self) -> str:
        return f"nats://{self.host}:{self.port}"


@dataclass
class _Subscription:
    sid: int
    subject: str
    queue: str | None = None


@dataclass
class NatsSubscriber:
    """One connection to a NATS server receiving the messages of its subscriptions."""

    server: NatsServer
    name: str = "mle"
    connect_timeout: float = 5.0
    info: dict = field(default_factory=dict)
    _sock: socket.socket | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _subs: list[_Subscription] = field(default_factory=list)
    _early: list[bytes] = field(default_factory=list)  # messages that came during the handshake
    _pongs: int = 0
    last_received: float = 0.0

    def subscribe(self, subject: str, queue: str | None = None) -> None:
        """Subscribe now (if connected) and after every (re)connect."""
        sub = _Subscription(len(self._subs) + 1, subject, queue)
        self._subs.append(sub)
        if self._sock is not None:
            self._send(self._sub_command(sub))

    @staticmethod
    def _sub_command(sub: _Subscription) -> bytes:
        queue = f" {sub.queue}" if sub.queue else ""
        return f"SUB {sub.subject}{queue} {sub.sid}\r\n".encode()

    def fileno(self) -> int:
        if self._sock is None:
            raise ConnectionError("not connected")
        return self._sock.fileno()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        """Connect, authenticate, subscribe, and wait for the server to confirm (PONG).
        Raises OSError (unreachable) or NatsError (refused)."""
        self.close()
        sock = socket.create_connection((self.server.host, self.server.port), timeout=self.connect_timeout)
        self._sock = sock
        self._buffer.clear()
        self._early.clear()
        self.info = {}
        try:
            while not self.info:
                self._handshake_read()
            if self.info.get("tls_required"):
                raise NatsError("the server requires TLS, which this input does not speak")
            options: dict[str, object] = {
                "verbose": False, "pedantic": False, "tls_required": False, "name": self.name,
                "lang": "python-mle", "version": CLIENT_VERSION, "protocol": 1, "headers": True,
                "no_responders": False,
            }
            if self.server.user is not None:
                options["user"] = self.server.user
                options["pass"] = self.server.password or ""
            if self.server.token is not None:
                options["auth_token"] = self.server.token
            payload = b"CONNECT " + orjson.dumps(options) + b"\r\n"
            payload += b"".join(self._sub_command(sub) for sub in self._subs) + b"PING\r\n"
            sock.sendall(payload)
            pongs = self._pongs
            while self._pongs == pongs:  # messages may arrive before the PONG: they are kept
                self._handshake_read()
            sock.setblocking(False)
        except BaseException:
            self.close()
            raise
        self.last_received = time.monotonic()

    def _handshake_read(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(RECV_SIZE)
        if not chunk:
            raise ConnectionError("the server closed the connection during the handshake")
        self._buffer += chunk
        if not self.info and len(self._buffer) >= 5 and not self._buffer.startswith(b"INFO "):
            raise NatsError(f"not a NATS server (it said {bytes(self._buffer[:40])!r})")
        self._early.extend(self._parse())

    def ping(self) -> None:
        """Ask the server for a PONG (to notice a dead connection)."""
        self._send(b"PING\r\n")

    def _send(self, data: bytes) -> None:
        assert self._sock is not None
        previous = self._sock.gettimeout()
        self._sock.settimeout(self.connect_timeout)
        try:
            self._sock.sendall(data)
        finally:
            self._sock.settimeout(previous)

    def receive(self) -> list[bytes]:
        """Payloads of the messages received since the last call (non-blocking).
        Raises ConnectionError when the server closed the connection."""
        assert self._sock is not None
        early, self._early = self._early, []
        try:
            chunk = self._sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            chunk = None
        if chunk == b"":
            raise ConnectionError("the server closed the connection")
        if chunk:
            self._buffer += chunk
            self.last_received = time.monotonic()
        return early + self._parse() if early else self._parse()

    def _parse(self) -> list[bytes]:
        buffer = self._buffer
        out: list[bytes] = []
        pos = 0
        reply = b""
        while True:
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                break
            head = buffer[pos:pos + 5].upper()
            if head.startswith(b"MSG ") or head.startswith(b"HMSG "):
                args = bytes(buffer[pos:end]).split()
                total = int(args[-1])
                start = end + 2
                if len(buffer) < start + total + 2:
                    break  # the payload is not complete yet
                headers = int(args[-2]) if head.startswith(b"HMSG") else 0
                out.append(bytes(buffer[start + headers:start + total]))
                pos = start + total + 2
                continue
            line = bytes(buffer[pos:end])
            pos = end + 2
            if line.upper() == b"PING":
                reply += b"PONG\r\n"
            elif line.startswith(b"-ERR"):
                del buffer[:pos]
                raise NatsError(f"the server said {line[5:].decode(errors='replace')}")
            elif line.upper() == b"PONG":
                self._pongs += 1
            elif line.startswith(b"INFO "):
                try:
                    self.info.update(orjson.loads(line[5:]))
                except orjson.JSONDecodeError:
                    raise NatsError("the server sent an unreadable INFO") from None
            # +OK: nothing to do
        del buffer[:pos]
        if reply:
            self._send(reply)
        return out

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
