"""A Redis pub/sub subscriber on a raw socket parsed by ``hiredis.Reader``.

Why not redis-py's ``PubSub``: it costs ~40 µs of Python per message, so a
subscriber falls behind a busy sensor, the server's output buffer for it fills
(``client-output-buffer-limit pubsub``: 32 MB by default) and Redis disconnects
it, losing everything buffered. Reading large chunks and letting hiredis split
them costs ~1-2 µs per message.

Delivery: at most once. Messages published while the subscriber is disconnected,
or dropped by Redis because the subscriber was too slow, are lost; that is pub/sub.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Callable

import hiredis
import redis

from mle.redis.pipe import encode_command
from mle.sources.framing import split_record
from mle.sources.redis_uri import RedisTarget

RECV_SIZE = 1 << 20


class ChannelReader:
    """SUBSCRIBE (or PSUBSCRIBE) to one channel; reconnects are the source's job."""

    def __init__(self, target: RedisTarget, pattern: bool, max_line_bytes: int, connect_timeout: float) -> None:
        self.target = target
        self.pattern = pattern
        self.max_line_bytes = max_line_bytes
        self.connect_timeout = connect_timeout
        self.messages = 0
        self._sock: socket.socket | None = None
        self._reader = hiredis.Reader()
        self._pending: list[bytes] = []  # payloads parsed but not handed on yet

    def setup(self) -> None:
        """Connect, authenticate, subscribe; returns once the server confirmed."""
        self.close()
        target = self.target
        try:
            if target.unix_socket:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.connect_timeout)
                sock.connect(target.unix_socket)
            else:
                sock = socket.create_connection((target.host, target.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise redis.ConnectionError(f"cannot connect: {exc}") from None
        self._sock = sock
        self._reader = hiredis.Reader()
        self._pending.clear()
        commands = []
        if target.password is not None:
            auth = [target.username, target.password] if target.username else [target.password]
            commands.append(encode_command("AUTH", *auth))
        commands.append(encode_command("PSUBSCRIBE" if self.pattern else "SUBSCRIBE", target.key))
        try:
            sock.sendall(b"".join(commands))
            if target.password is not None:
                self._expect(lambda reply: not isinstance(reply, list), "AUTH")
            self._expect(lambda reply: isinstance(reply, list) and reply[0] in (b"subscribe", b"psubscribe"),
                         "SUBSCRIBE")
            sock.setblocking(False)
        except BaseException:
            self.close()
            raise

    def _expect(self, accept: Callable[[object], bool], what: str) -> None:
        """Read replies until one ``accept`` takes (blocking, within the connect timeout)."""
        assert self._sock is not None
        deadline = time.monotonic() + self.connect_timeout
        while time.monotonic() < deadline:
            reply = self._reader.gets()
            if reply is False:
                try:
                    chunk = self._sock.recv(RECV_SIZE)
                except TimeoutError:
                    break
                if not chunk:
                    raise redis.ConnectionError(f"the server closed the connection after {what}")
                self._reader.feed(chunk)
                continue
            if isinstance(reply, hiredis.ReplyError):
                if "NOAUTH" in str(reply) or "WRONGPASS" in str(reply) or what == "AUTH":
                    raise redis.AuthenticationError(str(reply))
                raise redis.ResponseError(str(reply))
            if accept(reply):
                return
        raise redis.TimeoutError(f"no answer to {what} within {self.connect_timeout} s")

    def read(self, max_lines: int, block: float) -> tuple[list[bytes], int, Callable[[], None] | None]:
        sock = self._sock
        if sock is None:
            raise redis.ConnectionError("not subscribed")
        lines: list[bytes] = []
        size = 0
        wait = block
        while len(lines) < max_lines:
            if self._pending:
                room = max_lines - len(lines)
                taken, self._pending = self._pending[:room], self._pending[room:]
                self.messages += len(taken)
                for data in taken:
                    size += len(data)
                    lines.extend(split_record(data, self.max_line_bytes))
                continue
            if not select.select([sock], [], [], wait)[0]:
                break
            wait = 0.0
            try:
                chunk = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            if not chunk:
                raise redis.ConnectionError("Connection closed by server.")
            self._reader.feed(chunk)
            self._parse()
        return lines, size, None

    def _parse(self) -> None:
        reader, pending = self._reader, self._pending
        while (reply := reader.gets()) is not False:
            if isinstance(reply, list):
                kind = reply[0]
                if kind == b"message":
                    pending.append(reply[2])
                elif kind == b"pmessage":
                    pending.append(reply[3])
            elif isinstance(reply, hiredis.ReplyError):
                raise redis.ResponseError(str(reply))

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
