"""The HTTP server: the standard library's, in threads, with the limits an
engine's control port needs.

- Every connection gets ``timeout`` seconds for each read (a client that sends
  its request slowly, or not at all, is dropped) and one request (HTTP/1.0).
- At most ``max_connections`` are served at once; more are answered 503 at once.
- A request body needs a ``Content-Length`` (411 otherwise); one larger than
  ``max_body`` is answered 413 before any of it is read.
- Handlers run in the server's threads and only read published snapshots or
  queue commands (see :mod:`mle.http`), so a slow client never slows the engine.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from mle.http.address import format_listen

log = logging.getLogger("mle.http")

JSON = "application/json"


@dataclass
class Request:
    """One request, read completely."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # from the route's {placeholders}


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any) -> Response:
    return Response(status, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS) + b"\n")


def error_response(status: int, message: str, **headers: str) -> Response:
    """``{"error": message}`` with ``status``."""
    return Response(status, orjson.dumps({"error": message}) + b"\n", JSON, dict(headers))


Dispatch = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], dispatch: Dispatch, max_body: int, max_connections: int,
                 timeout: float) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.dispatch = dispatch
        self.max_body = max_body
        self.request_timeout = timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\n"
                                b"Connection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    _refuse_unread = False  # a 413 was answered without reading the body

    def version_string(self) -> str:
        return "mle"

    def setup(self) -> None:
        self.timeout = self.server.request_timeout
        super().setup()

    # the standard library calls do_<METHOD>
    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_OPTIONS(self) -> None:
        self._serve("OPTIONS")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        request = Request(method, parts.path or "/", dict(parse_qsl(parts.query)), self.headers)
        refusal = self._read_body(request)
        if refusal is not None:
            self._send(refusal, method)
            return
        try:
            response = self.server.dispatch(request)
        except Exception as exc:  # a bug in a route: answered 500, logged, the server goes on
            log.exception("HTTP %s %s failed", method, parts.path)
            response = error_response(500, f"internal error: {exc}")
        self._send(response, method)

    def _read_body(self, request: Request) -> Response | None:
        """Read the body into ``request``, or say why not (the answer to send)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return error_response(411, "send the body with a Content-Length (chunked bodies are not accepted)")
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        if not length.strip().isdigit():
            self.close_connection = True
            return error_response(400, f"bad Content-Length {length!r}")
        size = int(length)
        if size > self.server.max_body:
            self._refuse_unread = True
            return error_response(413, f"the body has {size} bytes; the limit is {self.server.max_body}")
        try:
            request.body = self.rfile.read(size)
        except TimeoutError:
            self.close_connection = True
            return error_response(408, f"the body did not arrive within {self.server.request_timeout:g} s")
        if len(request.body) < size:
            self.close_connection = True
            return error_response(400, "the body is shorter than its Content-Length")
        return None

    def _send(self, response: Response, method: str) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        if self._refuse_unread:
            self._discard_unread()

    def _discard_unread(self) -> None:
        """After a 413: let the client read the answer before the connection closes (a
        close with unread data resets it) by taking, and dropping, what it still sends
        for a moment; never more than the body limit, never longer than a second."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.2)
            deadline, dropped = time.monotonic() + 1.0, 0
            while time.monotonic() < deadline and dropped < self.server.max_body:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class ApiServer:
    """Serves ``dispatch`` on ``address`` from a daemon thread until :meth:`stop`."""

    def __init__(self, address: tuple[str, int], dispatch: Dispatch, *, max_body: int,
                 max_connections: int = 32, timeout: float = 10.0) -> None:
        self._server = _Server(address, dispatch, max_body, max_connections, timeout)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.25},
                                        name="http-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{format_listen(str(host), int(port))}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
