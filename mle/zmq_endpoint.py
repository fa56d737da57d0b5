"""ZeroMQ endpoints shared by the ``zmq+tcp`` / ``zmq+ipc`` input and output."""

from __future__ import annotations

from pathlib import Path

import zmq

from mle.connectors import Context, Endpoint
from mle.sinks.address import parse_host_port


def zmq_address(endpoint: Endpoint, context: Context, bind: bool) -> str:
    """The ZeroMQ address of the URI: relative ipc paths under the run directory; when
    binding, host ``*`` means every interface and port ``0`` or ``*`` a free port
    (:func:`attach` returns the one chosen)."""
    transport = endpoint.scheme.partition("+")[2]
    if transport == "ipc":
        return f"ipc://{endpoint.path(context.run_dir)[0]}"
    rest = endpoint.rest.rstrip("/")
    example = "zmq+tcp://127.0.0.1:5556"
    host_text, _, port_text = rest.rpartition(":")
    if bind and port_text in ("0", "*"):
        rest = f"{host_text}:1"  # validated as any other address; the port is chosen at bind
    if bind and host_text == "*":
        rest = "any" + rest[1:]
    address = parse_host_port(rest, endpoint.label, example)
    host = "*" if bind and host_text == "*" else f"[{address.host}]" if ":" in address.host else address.host
    port = "*" if bind and port_text in ("0", "*") else str(address.port)
    return f"tcp://{host}:{port}"


def attach(context: zmq.Context, sock: zmq.Socket, address: str, bind: bool, label: str) -> str:
    """Bind or connect ``sock`` to ``address`` and return the address in use (the port
    chosen for a wildcard bind). On failure the socket is closed, ``context`` terminated
    and an ``OSError`` naming the endpoint is raised."""
    if address.startswith("ipc://"):
        Path(address[len("ipc://"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        if bind:
            sock.bind(address)
            return sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        sock.connect(address)
        return address
    except zmq.ZMQError as exc:
        sock.close(0)
        context.term()
        verb = "bind" if bind else "connect to"
        raise OSError(exc.errno, f"{label}: cannot {verb} {address}: {exc.strerror}") from None
