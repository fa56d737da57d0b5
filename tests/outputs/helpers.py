"""Real peers for the output tests: socket servers, a NATS subscriber, an
OpenSearch-compatible server process, a stub HTTP server for faults, and a
polling ``wait_for``."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from mle.connectors import Context
from mle.deadletter import DeadLetterWriter
from tests.waiting import free_port, wait_for


def make_context(tmp: Path) -> Context:
    """A connector context under ``tmp`` with a dead-letter file at ``tmp/dead.jsonl``."""
    return Context(root=tmp, run_dir=tmp / "run", log_dir=tmp / "log",
                   dead_letters=DeadLetterWriter(tmp / "dead.jsonl"))


def dead_letters(context: Context) -> list[dict]:
    """The entries of the context's dead-letter file so far."""
    assert context.dead_letters is not None
    context.dead_letters.flush()
    path = context.dead_letters.path
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def docs(n: int, start: int = 0, pad: int = 0) -> list[bytes]:
    """``n`` distinct small JSON documents (``{"n": i, ...}``)."""
    filler = "x" * pad
    return [orjson.dumps({"n": i, "event_type": "test", "pad": filler}) for i in range(start, start + n)]


# --- socket peers -----------------------------------------------------------------------


class StreamServer:
    """A listening stream socket (TCP or unix) that collects newline-delimited lines,
    one list per accepted connection."""

    def __init__(self, family: int = socket.AF_INET, path: Path | None = None, port: int = 0) -> None:
        self.family = family
        self.path = path
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX:
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self.sock.bind(str(path))
        else:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1] if family != socket.AF_UNIX else 0
        self.connections: list[list[bytes]] = []
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def lines(self) -> list[bytes]:
        with self._lock:
            return [line for conn in self.connections for line in conn]

    def _run(self) -> None:
        buffers: dict[socket.socket, tuple[bytearray, list[bytes]]] = {}
        while not self._stop.is_set():
            readable, _, _ = select.select([self.sock, *buffers], [], [], 0.05)
            for s in readable:
                if s is self.sock:
                    conn, _ = self.sock.accept()
                    with self._lock:
                        received: list[bytes] = []
                        self.connections.append(received)
                        self._conns.append(conn)
                    buffers[conn] = (bytearray(), received)
                    continue
                try:
                    data = s.recv(1 << 16)
                except OSError:
                    data = b""
                buffer, received = buffers[s]
                if not data:
                    del buffers[s]
                    s.close()
                    continue
                buffer += data
                *complete, rest = bytes(buffer).split(b"\n")
                with self._lock:
                    received.extend(complete)
                buffer[:] = rest
        for s in buffers:
            s.close()

    def drop_connections(self) -> None:
        """Close every accepted connection (the peer restarts; the listener stays)."""
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._conns.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


class DatagramServer:
    """A bound unix datagram socket collecting every datagram."""

    def __init__(self, path: Path, rcvbuf: int | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(str(path))
        self.datagrams: list[bytes] = []
        self.reading = threading.Event()
        self.reading.set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self.reading.wait(0.05):
                continue
            readable, _, _ = select.select([self.sock], [], [], 0.05)
            if readable:
                self.datagrams.append(self.sock.recv(1 << 20))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


# --- NATS -------------------------------------------------------------------------------


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    return str(candidate) if candidate.exists() else "nats-server"


class NatsServer:
    """A real ``nats-server`` on 127.0.0.1:port (stop and start again on the same port)."""

    def __init__(self, port: int | None = None, extra: tuple[str, ...] = ()) -> None:
        self.port = port or free_port()
        self.extra = extra
        self.process: subprocess.Popen | None = None

    def start(self) -> NatsServer:
        self.process = subprocess.Popen([nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), *self.extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._reachable, 10, what=f"nats-server on port {self.port}")
        return self

    def _reachable(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                return s.recv(5) == b"INFO "
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class NatsSubscriber:
    """A minimal NATS subscriber (text protocol) collecting payloads in a thread;
    reconnects by itself when the server restarts."""

    def __init__(self, port: int, subject: str, token: str | None = None) -> None:
        self.port = port
        self.subject = subject
        self.token = token
        self.messages: list[bytes] = []
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "subscriber did not connect"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._session()
            except OSError:
                self.ready.clear()
                time.sleep(0.05)

    def _session(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            buffer = bytearray()
            options = {"verbose": False, "pedantic": False}
            if self.token:
                options["auth_token"] = self.token
            sock.sendall(b"CONNECT " + json.dumps(options).encode() + b"\r\nSUB " + self.subject.encode()
                         + b" 1\r\nPING\r\n")
            sock.settimeout(0.1)
            while not self._stop.is_set():
                try:
                    chunk = sock.recv(1 << 16)
                except TimeoutError:
                    continue
                if not chunk:
                    raise ConnectionError("closed")
                buffer += chunk
                while True:
                    end = buffer.find(b"\r\n")
                    if end < 0:
                        break
                    line = bytes(buffer[:end])
                    if line.startswith(b"MSG "):
                        size = int(line.split()[-1])
                        if len(buffer) < end + 2 + size + 2:
                            break
                        self.messages.append(bytes(buffer[end + 2:end + 2 + size]))
                        del buffer[:end + 2 + size + 2]
                        continue
                    del buffer[:end + 2]
                    if line == b"PING":
                        sock.sendall(b"PONG\r\n")
                    elif line == b"PONG":
                        self.ready.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


# --- OpenSearch-compatible server ---------------------------------------------------------


def osmem_binary() -> str:
    from osmem_server import resolve_binary

    return resolve_binary()


class Osmem:
    """A real ``osmem-server`` process (in memory): stop it, start another on the same port."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.url = ""
        self.process: subprocess.Popen | None = None

    def start(self) -> Osmem:
        self.process = subprocess.Popen(
            [osmem_binary(), "--addr", f"127.0.0.1:{self.port}", "--no-ja"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        self.url = json.loads(self.process.stdout.readline())["url"]
        self.port = int(self.url.rpartition(":")[2])
        return self

    def stop(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the server exits when its stdin closes
            self.process.wait(10)
            self.process = None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read() or b"{}")

    def count(self, index: str) -> int:
        """Documents in ``index`` (a pattern is fine), after a refresh; 0 if it does not exist."""
        try:
            self.request("POST", f"/{index}/_refresh")
            return self.request("GET", f"/{index}/_count")["count"]
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return 0
            raise

    def search(self, index: str, size: int = 10000) -> list[dict]:
        self.request("POST", f"/{index}/_refresh")
        answer = self.request("POST", f"/{index}/_search", {"size": size, "query": {"match_all": {}}})
        return answer["hits"]["hits"]


# --- a stub HTTP server for faults the real server will not produce -----------------------


class StubRequest:
    """What the stub saw: method, path, headers, body."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.status = 0  # what the stub answered (0: nothing, it hung)

    @property
    def items(self) -> list[tuple[dict, bytes]]:
        """(action, document bytes) pairs of a bulk body."""
        lines = self.body.split(b"\n")[:-1]
        return [(orjson.loads(a), d) for a, d in zip(lines[0::2], lines[1::2], strict=True)]


Handler = Callable[[StubRequest], "tuple[int, bytes] | None"]  # None: hang (never answer)


class StubES:
    """An HTTP server whose answers are scripted: each request takes the next handler
    of ``script`` (the last one repeats). A handler returns (status, body) or None to
    hang until the stub closes."""

    def __init__(self, script: list[Handler], tls: tuple[Path, Path] | None = None) -> None:
        self.script = list(script)
        self.requests: list[StubRequest] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = StubRequest("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
                with stub._lock:
                    stub.requests.append(request)
                    handler = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                answer = handler(request)
                if answer is None:
                    stub._release.wait(30)
                    self.close_connection = True
                    return
                status, body = answer
                request.status = status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def bulk_items(self, answered: int | None = None) -> list[tuple[dict, bytes]]:
        """Items of every request (or of those answered with status ``answered``)."""
        with self._lock:
            return [item for r in self.requests if answered in (None, r.status) for item in r.items]

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def bulk_answer(statuses: list[tuple[int, dict | None]], action: str = "create") -> bytes:
    """A bulk response body with one item per (status, error)."""
    items = []
    for status, error in statuses:
        item: dict[str, Any] = {"status": status}
        if error is not None:
            item["error"] = error
        items.append({action: item})
    return orjson.dumps({"errors": any(s >= 300 for s, _ in statuses), "items": items})


def accept_all(request: StubRequest) -> tuple[int, bytes]:
    """Every item created (201)."""
    items = [{next(iter(action)): {"status": 201}} for action, _ in request.items]
    return 200, orjson.dumps({"errors": False, "items": items})


def status(code: int, body: bytes = b'{"error":"busy"}') -> Handler:
    return lambda request: (code, body)
