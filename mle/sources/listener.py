"""A listening stream socket with many concurrent writers: the core of ``unix://`` and
``tcp://``.

Suricata (``filetype: unix_stream``) is the client: it connects, writes one
newline-terminated record per ``send``, and reconnects (at most every 500 ms) when
the connection breaks. This listener accepts any number of writers at once (one
``selectors`` loop, non-blocking sockets), frames each connection's bytes into
lines on its own, and reads the connections in turn so a busy writer cannot starve
the others.

Delivery: every complete line that reached the socket is passed on exactly once,
in order per writer. A writer that disconnects in the middle of a record leaves a
truncated record: it is passed on as a line (the worker dead-letters it as
``not_json``) and counted as ``partial_line_at_disconnect``. When the engine does
not read (backpressure), the kernel buffers fill and writers block, or drop
records if they write with ``MSG_DONTWAIT`` as Suricata does in live mode. Records
still in a kernel buffer when the engine stops are lost.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mle.connectors import Context, Endpoint
from mle.sources.base import Batch
from mle.sources.faults import count_fault
from mle.sources.framing import LineFramer
from mle.sources.selecting import SelectingSource

log = logging.getLogger("mle.input")

RECV_SIZE = 256 << 10
_ACCEPT = object()


@dataclass(eq=False)
class _Writer:
    """One connected writer and its framing state."""

    sock: socket.socket
    framer: LineFramer
    name: str


class StreamListenerSource(SelectingSource):
    """Base of the listening stream sources; subclasses create the bound socket."""

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        self.max_line_bytes = int(options.get("max_line_bytes", context.max_line_bytes))
        self.backlog = int(options.get("backlog", 128))
        self.connections_total = 0
        self._listener: socket.socket | None = None
        self._writers: set[_Writer] = set()

    @abstractmethod
    def _bind(self) -> socket.socket:
        """The bound (not yet listening) socket. Raise OSError/ConfigError naming the entry."""

    def _unbind(self) -> None:
        """Clean up after the listening socket was closed (e.g. unlink the path)."""

    @property
    def writers(self) -> int:
        """Writers connected now."""
        return len(self._writers)

    def open(self) -> None:
        sock = self._bind()
        try:
            sock.listen(self.backlog)
        except OSError as exc:
            sock.close()
            self._unbind()
            raise OSError(exc.errno, f"{self.endpoint.label}: cannot listen: {exc.strerror}") from None
        sock.setblocking(False)
        self._listener = sock
        self._open_selector().register(sock, selectors.EVENT_READ, _ACCEPT)

    # reading --------------------------------------------------------------------------
    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            if self._guard.closing.is_set() or self._selector is None:
                return None
            selector = self._selector
            lines, self._ready = self._ready, []
            received = 0
            deadline = time.monotonic() + timeout
            while len(lines) < max_lines and not self._guard.closing.is_set():
                remaining = deadline - time.monotonic()
                events = selector.select(remaining if remaining > 0 else 0)
                if not events:
                    break
                for key, _ in events:
                    if key.data is _ACCEPT:
                        self._accept()
                    elif not self._woken(key):
                        received += self._receive(key.data, lines)
                if remaining <= 0:
                    break
            return self.take(lines, max_lines, received)

    def _accept(self) -> None:
        assert self._listener is not None and self._selector is not None
        while True:
            try:
                conn, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: leave it in the backlog, try again later
                count_fault(self.stats, self.endpoint.label, "accept_failed", exc.strerror or str(exc))
                return
            conn.setblocking(False)
            self.connections_total += 1
            name = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else f"writer #{self.connections_total}"
            writer = _Writer(conn, LineFramer(self.max_line_bytes), name)
            self._writers.add(writer)
            self._selector.register(conn, selectors.EVENT_READ, writer)
            log.debug("%s: %s connected (%d connected)", self.endpoint.label, name, len(self._writers))

    def _receive(self, writer: _Writer, lines: list[bytes]) -> int:
        """Read once from ``writer``; returns the bytes received."""
        try:
            data = writer.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:  # ECONNRESET and friends: the writer is gone
            count_fault(self.stats, self.endpoint.label, "connection_reset", f"{writer.name}: {exc.strerror}")
            data = b""
        if data:
            lines.extend(writer.framer.feed(data))
            return len(data)
        self._disconnect(writer, lines)
        return 0

    def _disconnect(self, writer: _Writer, lines: list[bytes]) -> None:
        assert self._selector is not None
        partial = writer.framer.flush()
        if partial is not None:
            lines.append(partial)  # a truncated record: the worker dead-letters it
            count_fault(self.stats, self.endpoint.label, "partial_line_at_disconnect",
                        f"{writer.name} left {len(partial)} bytes without a newline")
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(writer.sock)
        writer.sock.close()
        self._writers.discard(writer)
        log.debug("%s: %s disconnected (%d connected)", self.endpoint.label, writer.name, len(self._writers))

    # closing --------------------------------------------------------------------------
    def _release_descriptors(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(OSError):
                writer.sock.close()
        self._writers.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            self._unbind()
