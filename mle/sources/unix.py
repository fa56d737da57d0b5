"""``unix:///path`` (stream) and ``unixgram:///path`` / ``ipc:///path`` (datagram):
the sockets Suricata's ``eve-log`` writes to with ``filetype: unix_stream`` /
``unix_dgram``.

Suricata is the client: MLE binds and listens at the path before Suricata starts
(Suricata reconnects at most every 500 ms until it can). Relative paths resolve
against the run directory. Options (besides ``max_line_bytes``):

``mode``   permissions of the socket file, octal string or number (default "0660")
``group``  group owning the socket file (e.g. "suricata"), default: unchanged
``backlog`` (stream) pending connections (default 128)
``rcvbuf`` (datagram) receive buffer in bytes (default 4 MiB; beyond the kernel's
           ``rmem_max`` only as root)

Delivery: stream — see :mod:`mle.sources.listener`. Datagram — one record per
datagram (several newline-separated records in one datagram are each a line); a
datagram is whole or lost: when MLE does not keep up, the kernel's queue fills and
the sender blocks or, in Suricata's live mode, drops. That queue holds at most
``net.unix.max_dgram_qlen`` datagrams (10 by default on Linux, whatever ``rcvbuf``
says): raise it with sysctl on a busy sensor. A datagram larger than
``max_line_bytes`` is cut and counted as ``datagram_truncated``.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mle.connectors import Context, Endpoint, check_options
from mle.sources.base import Batch
from mle.sources.faults import count_fault
from mle.sources.framing import split_record
from mle.sources.listener import StreamListenerSource
from mle.sources.selecting import SelectingSource
from mle.sources.sockets import bind_unix, parse_mode, socket_identity, unlink_if_ours

log = logging.getLogger("mle.input")

DEFAULT_MODE = 0o660
DEFAULT_RCVBUF = 4 << 20
MIN_DATAGRAM_BUFFER = 512 << 10  # the kernel's limit for a unix datagram is ~212 KB by default
_MAX_DATAGRAMS_PER_READ = 4096


def _max_dgram_qlen() -> int | None:
    try:
        return int(Path("/proc/sys/net/unix/max_dgram_qlen").read_text())
    except (OSError, ValueError):
        return None


def _socket_path(endpoint: Endpoint, context: Context) -> Path:
    path, _suffix = endpoint.path(context.run_dir)  # a Dragonfly "<"/">" suffix means nothing here
    return path


class UnixStreamSource(StreamListenerSource):
    """Listens at a unix stream socket path; many writers, newline-framed records."""

    OPTIONS: Mapping[str, type | tuple] = {"max_line_bytes": int, "mode": (int, str), "group": str, "backlog": int}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        opts = check_options(endpoint.label, options, self.OPTIONS)
        super().__init__(tag, endpoint, opts, context)
        self.path = _socket_path(endpoint, context)
        self.mode = parse_mode(endpoint.label, opts.get("mode"), DEFAULT_MODE)
        self.group: str | None = opts.get("group")
        self._identity: tuple[int, int] | None = None

    @property
    def description(self) -> str:
        return f"unix://{self.path}"

    def _bind(self) -> socket.socket:
        sock = bind_unix(self.path, socket.SOCK_STREAM, self.endpoint.label, self.mode, self.group)
        self._identity = socket_identity(self.path)
        return sock

    def _unbind(self) -> None:
        unlink_if_ours(self.path, self._identity)


class UnixDatagramSource(SelectingSource):
    """Bound unix datagram socket; each datagram holds one record (or several lines)."""

    OPTIONS: Mapping[str, type | tuple] = {"max_line_bytes": int, "mode": (int, str), "group": str, "rcvbuf": int}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        super().__init__(tag, endpoint, options, context)
        opts = check_options(endpoint.label, options, self.OPTIONS)
        self.path = _socket_path(endpoint, context)
        self.mode = parse_mode(endpoint.label, opts.get("mode"), DEFAULT_MODE)
        self.group: str | None = opts.get("group")
        self.rcvbuf = opts.get("rcvbuf", DEFAULT_RCVBUF)
        self.max_line_bytes = opts.get("max_line_bytes", context.max_line_bytes)
        self.datagrams = 0
        self._buffer = bytearray(max(self.max_line_bytes + 1, MIN_DATAGRAM_BUFFER))
        self._sock: socket.socket | None = None
        self._identity: tuple[int, int] | None = None

    @property
    def description(self) -> str:
        return f"unixgram://{self.path}"

    @property
    def receive_buffer(self) -> int:
        """The receive buffer the kernel granted (bytes, as getsockopt reports it)."""
        assert self._sock is not None
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

    def open(self) -> None:
        sock = bind_unix(self.path, socket.SOCK_DGRAM, self.endpoint.label, self.mode, self.group)
        self._identity = socket_identity(self.path)
        force = getattr(socket, "SO_RCVBUFFORCE", None)
        try:
            if force is None:
                raise PermissionError
            sock.setsockopt(socket.SOL_SOCKET, force, self.rcvbuf)  # as root: beyond rmem_max
        except PermissionError:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.setblocking(False)
        self._sock = sock
        self._open_selector().register(sock, selectors.EVENT_READ)
        qlen = _max_dgram_qlen()
        if qlen is not None and qlen < 256:
            log.info("%s: the kernel queues at most %d datagrams per socket (net.unix.max_dgram_qlen); "
                     "raise it so bursts wait instead of being dropped by the sender", self.endpoint.label, qlen)

    def read_batch(self, max_lines: int, timeout: float) -> Batch | None:
        with self._guard:
            if self._guard.closing.is_set() or self._sock is None or self._selector is None:
                return None
            lines, self._ready = self._ready, []
            received = 0
            deadline = time.monotonic() + timeout
            while len(lines) < max_lines and not self._guard.closing.is_set():
                remaining = deadline - time.monotonic()
                if not self._selector.select(remaining if remaining > 0 else 0):
                    break
                assert self._waker is not None
                self._waker.clear()
                received += self._drain(lines, max_lines)
                if remaining <= 0:
                    break
            return self.take(lines, max_lines, received)

    def _drain(self, lines: list[bytes], max_lines: int) -> int:
        """Receive queued datagrams until none is left or ``max_lines`` are held."""
        assert self._sock is not None
        sock, buffer, view = self._sock, self._buffer, memoryview(self._buffer)
        received = 0
        for _ in range(_MAX_DATAGRAMS_PER_READ):
            if len(lines) >= max_lines:
                break
            try:
                size, _, flags, _ = sock.recvmsg_into([buffer])
            except (BlockingIOError, InterruptedError):
                break
            self.datagrams += 1
            received += size
            data = bytes(view[:size])
            if flags & socket.MSG_TRUNC:
                count_fault(self.stats, self.endpoint.label, "datagram_truncated",
                            f"a datagram longer than {len(buffer)} bytes was cut")
            lines.extend(split_record(data, self.max_line_bytes))
        return received

    def _release_descriptors(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            unlink_if_ours(self.path, self._identity)
