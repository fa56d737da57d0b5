"""Socket outputs, as clients of a listening peer:

- ``unix://PATH``: a unix stream socket, newline-delimited JSON (what Suricata's
  ``unix_stream`` eve-log writes);
- ``ipc://PATH`` / ``unixgram://PATH``: a unix datagram socket, one document per
  datagram (Dragonfly's ``ipc://`` output, Suricata's ``unix_dgram``);
- ``tcp://HOST:PORT``: TCP, newline-delimited JSON.

Relative paths resolve against the run directory. The peer may be absent at
start or go away: a sender thread connects lazily and reconnects with
exponential backoff and jitter (``reconnect_initial`` .. ``reconnect_max``
seconds) while :meth:`write_batch` keeps filling a buffer bounded by
``buffer_bytes``. When the buffer is full, ``overflow = "block"`` (the default)
makes ``write_batch`` wait, which slows the whole pipeline down (backpressure);
``overflow = "drop"`` refuses the new batch instead, counts it
(``counts["dropped_buffer_full"]``) and writes every document of it to the
dead-letter file. A datagram bigger than the socket accepts (EMSGSIZE) goes to
the dead-letter file with the reason; it is never cut.

Delivery: at least once while the peer keeps its connection open; a stream line
that was cut by a broken connection is sent again whole on the next one. Socket
streams have no application acknowledgement, so documents the kernel had
accepted when the peer vanished can be lost; before each send the sink checks
whether the peer closed its end, which catches the usual case (a peer restart)
before anything is written into a dead connection. On close the sink waits
``close_timeout`` seconds for the buffer to drain, then dead-letters the rest
(``undelivered_at_shutdown``): a stop loses nothing silently.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
from collections import Counter, deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sinks.address import parse_host_port
from mle.sinks.backoff import Backoff, ThrottledLog
from mle.sinks.base import Sink

log = logging.getLogger("mle.sinks.socket")

IO_SLICE = 0.5  # socket timeout: a blocked send notices close() within this


class _SendFailed(Exception):
    """A send broke off after ``offset`` bytes of the chunk."""

    def __init__(self, offset: int, error: OSError) -> None:
        super().__init__(str(error))
        self.offset = offset
        self.error = error


class ClientSocketSink(Sink):
    """Shared machinery: bounded buffer, sender thread, reconnects, shutdown."""

    OPTIONS: Mapping[str, type | tuple] = {
        "buffer_bytes": int, "overflow": str, "reconnect_initial": float, "reconnect_max": float,
        "connect_timeout": float, "close_timeout": float,
    }
    DATAGRAM = False

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.buffer_bytes: int = opts.get("buffer_bytes", 16 << 20)
        self.overflow: str = opts.get("overflow", "block")
        self.reconnect_initial: float = opts.get("reconnect_initial", 0.1)
        self.reconnect_max: float = opts.get("reconnect_max", 5.0)
        self.connect_timeout: float = opts.get("connect_timeout", 5.0)
        self.close_timeout: float = opts.get("close_timeout", 10.0)
        label = endpoint.label
        if self.buffer_bytes < 1:
            raise ConfigError(f'{label}: "buffer_bytes" must be positive')
        if self.overflow not in ("block", "drop"):
            raise ConfigError(f'{label}: "overflow" must be "block" or "drop", not {self.overflow!r}')
        if not 0 < self.reconnect_initial <= self.reconnect_max:
            raise ConfigError(f'{label}: need 0 < "reconnect_initial" <= "reconnect_max"')
        self.counts: Counter[str] = Counter()
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._closing = False
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = "never connected"
        self._warn = ThrottledLog(log)

    # what subclasses provide ---------------------------------------------------------
    def _connect(self) -> socket.socket:
        raise NotImplementedError

    def _frame(self, lines: list[bytes]) -> list[bytes]:
        """Chunks to queue for a batch: one newline-delimited blob for a stream."""
        return [b"\n".join(lines) + b"\n"]

    @staticmethod
    def _documents(chunk: bytes) -> list[bytes]:
        """The documents in a queued chunk (for the dead-letter file)."""
        return [line for line in chunk.split(b"\n") if line]

    # engine side ---------------------------------------------------------------------
    def open(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"output-{self.tag}", daemon=True)
        self._thread.start()

    def write_batch(self, lines: list[bytes]) -> None:
        if not lines:
            return
        chunks = self._frame(lines)
        size = sum(len(c) for c in chunks)
        with self._cond:
            if self._closing:
                raise OSError(f"{self.endpoint.label}: output is closed")
            while self._queued and self._queued + size > self.buffer_bytes:
                if self.overflow == "drop":
                    self._drop(lines)
                    return
                self._cond.wait(IO_SLICE)
            self._queue.extend(chunks)
            self._queued += size
            self._cond.notify_all()
        self.stats.lines += len(lines)
        self.stats.bytes += size

    def _drop(self, lines: list[bytes]) -> None:
        self.counts["dropped_buffer_full"] += len(lines)
        self.stats.errors["dropped_buffer_full"] += len(lines)
        self._warn(logging.WARNING, "output %s: buffer full (%d bytes, peer: %s): %d documents dropped "
                   "to the dead-letter file", self.tag, self.buffer_bytes, self._last_error, len(lines))
        self._dead_letter(lines, "buffer_full", f"buffer of {self.buffer_bytes} bytes full; peer: {self._last_error}")

    def _dead_letter(self, documents: list[bytes], reason: str, detail: str) -> None:
        self.counts[f"dead_letter_{reason}"] += len(documents)
        self._write_dead_letters(documents, reason, detail)

    @property
    def pending_bytes(self) -> int:
        """Bytes accepted but not yet handed to the peer."""
        with self._cond:
            return self._queued

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything buffered was sent (True), or ``timeout`` passed (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue, timeout)

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(self.close_timeout)
            if self._thread.is_alive():
                self._abort.set()
                with self._cond:
                    self._cond.notify_all()
                self._thread.join()
            self._thread = None
        with self._cond:
            leftovers, self._queue = list(self._queue), deque()
            self._queued = 0
        documents = [doc for chunk in leftovers for doc in self._documents(chunk)]
        if documents:
            log.error("output %s: %d documents not delivered within %.0f s of shutdown (%s): they go to the "
                      "dead-letter file", self.tag, len(documents), self.close_timeout, self._last_error)
            self.stats.errors["undelivered_at_shutdown"] += len(documents)
            self._dead_letter(documents, "undelivered_at_shutdown", self._last_error)

    # sender thread -------------------------------------------------------------------
    def _run(self) -> None:
        """The sender thread; a bug in it is logged and the thread starts over (the
        buffer is kept), so the pipeline never waits on a dead thread."""
        while True:
            try:
                self._send_loop()
                return
            except Exception:
                log.exception("output %s: sender failed; restarting it", self.tag)
                if self._abort.wait(1.0):
                    return

    def _send_loop(self) -> None:
        backoff = Backoff(self.reconnect_initial, self.reconnect_max)
        sock: socket.socket | None = None
        try:
            while not self._abort.is_set():
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    if not self._queue:
                        return  # closing, and everything was sent
                    chunk = self._queue[0]
                if sock is not None and not self.DATAGRAM and _peer_closed(sock):
                    self.counts["peer_closed"] += 1
                    log.info("output %s: %s closed the connection; reconnecting", self.tag, self.description)
                    sock.close()
                    sock = None
                if sock is None:
                    try:
                        sock = self._connect()
                    except OSError as exc:
                        self._last_error = f"cannot connect to {self.description}: {exc.strerror or exc}"
                        self.counts["connect_failed"] += 1
                        self._warn(logging.WARNING, "output %s: %s (retrying)", self.tag, self._last_error)
                        self._abort.wait(backoff.next())
                        continue
                    sock.settimeout(IO_SLICE)
                    backoff.reset()
                    self._warn.reset()
                    self.counts["connections"] += 1
                    log.info("output %s: connected to %s", self.tag, self.description)
                try:
                    self._send(sock, chunk)
                except _SendFailed as failed:
                    sock.close()
                    sock = None
                    if self._abort.is_set():
                        self._requeue(chunk, failed.offset)
                        return
                    if self.DATAGRAM and failed.error.errno == errno.EMSGSIZE:
                        self._pop(chunk)
                        self.stats.errors["too_big"] += 1
                        self._dead_letter([chunk], "too_big", f"{len(chunk)} bytes is more than the datagram socket "
                                          f"{self.description} accepts ({failed.error.strerror})")
                        continue
                    self._last_error = f"sending to {self.description}: {failed.error.strerror or failed.error}"
                    self.counts["send_failed"] += 1
                    self._warn(logging.WARNING, "output %s: %s (reconnecting)", self.tag, self._last_error)
                    self._requeue(chunk, failed.offset)
                    self._abort.wait(backoff.next())
                    continue
                self._pop(chunk)
        finally:
            if sock is not None:
                sock.close()

    def _send(self, sock: socket.socket, chunk: bytes) -> None:
        """Send a whole chunk; raise _SendFailed with how far it got."""
        view = memoryview(chunk)
        offset = 0
        while offset < len(chunk):
            try:
                offset += sock.send(view[offset:])
            except TimeoutError:
                if self._abort.is_set():
                    raise _SendFailed(offset, OSError(errno.ETIMEDOUT, "shutting down")) from None
            except OSError as exc:
                raise _SendFailed(offset, exc) from None

    def _requeue(self, chunk: bytes, offset: int) -> None:
        """After a broken send, keep from the start of the line that was cut."""
        start = chunk.rfind(b"\n", 0, offset) + 1 if offset else 0
        if start:
            with self._cond:
                self._queue[0] = chunk[start:]
                self._queued -= start
                self._cond.notify_all()
            self.counts["sent_bytes"] += start

    def _pop(self, chunk: bytes) -> None:
        with self._cond:
            self._queue.popleft()
            self._queued -= len(chunk)
            self._cond.notify_all()
        self.counts["sent_bytes"] += len(chunk)
        self.counts["sent_chunks"] += 1


def _peer_closed(sock: socket.socket) -> bool:
    """True when the peer closed its end (readable with nothing to read). Bytes the
    peer sent (none expected) are read and ignored."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(65536, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class UnixStreamSink(ClientSocketSink):
    """``unix://PATH``: newline-delimited JSON to a listening unix stream socket."""

    SOCKET_TYPE = socket.SOCK_STREAM

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        self.path: Path = endpoint.path(context.run_dir)[0]

    @property
    def description(self) -> str:
        return f"{self.endpoint.scheme}://{self.path}"

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, self.SOCKET_TYPE)
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(str(self.path))
        except OSError:
            sock.close()
            raise
        return sock


class UnixDatagramSink(UnixStreamSink):
    """``ipc://PATH`` / ``unixgram://PATH``: one document per datagram."""

    DATAGRAM = True
    SOCKET_TYPE = socket.SOCK_DGRAM

    def _frame(self, lines: list[bytes]) -> list[bytes]:
        return list(lines)

    @staticmethod
    def _documents(chunk: bytes) -> list[bytes]:
        return [chunk]

    def _send(self, sock: socket.socket, chunk: bytes) -> None:
        while True:
            try:
                sock.send(chunk)
                return
            except TimeoutError:  # the receiver's queue is full: wait (backpressure)
                if self._abort.is_set():
                    raise _SendFailed(0, OSError(errno.ETIMEDOUT, "shutting down")) from None
            except OSError as exc:
                raise _SendFailed(0, exc) from None


class TcpSink(ClientSocketSink):
    """``tcp://HOST:PORT``: newline-delimited JSON over TCP."""

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        self.address = parse_host_port(endpoint.rest.rstrip("/"), endpoint.label, "tcp://127.0.0.1:5140")

    @property
    def description(self) -> str:
        return f"tcp://{self.address}"

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.address.host, self.address.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock
