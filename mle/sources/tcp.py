"""``tcp://host:port``: listen for newline-delimited EVE records over TCP.

Suricata has no TCP eve-log; this input is for forwarders (``socat``, Vector,
Fluent Bit, a ``tail -F | nc`` pipeline) that ship EVE lines over the network.
``host`` may be a name, an IPv4 address, ``[ipv6]`` or ``*`` (all interfaces);
port 0 picks a free port (see :attr:`TcpSource.port`). Options: ``max_line_bytes``,
``backlog``. Framing and delivery are those of :mod:`mle.sources.listener`.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from mle.connectors import Context, Endpoint, check_options
from mle.errors import ConfigError
from mle.sources.listener import StreamListenerSource


def parse_host_port(endpoint: Endpoint) -> tuple[str, int]:
    """``host:port`` / ``[v6]:port`` / ``*:port`` of a URI, validated."""
    rest = endpoint.rest.rstrip("/")
    host, sep, port_text = rest.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f'{endpoint.label}: "{endpoint.scheme}://{endpoint.rest}" needs host:port, '
                          f"e.g. {endpoint.scheme}://127.0.0.1:5140")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host in ("", "*"):
        host = "0.0.0.0"
    return host, int(port_text)


class TcpSource(StreamListenerSource):
    """Listens on a TCP port; many writers, newline-framed records."""

    OPTIONS: Mapping[str, type | tuple] = {"max_line_bytes": int, "backlog": int}

    def __init__(self, tag: str, endpoint: Endpoint, options: Mapping[str, Any], context: Context) -> None:
        opts = check_options(endpoint.label, options, self.OPTIONS)
        super().__init__(tag, endpoint, opts, context)
        self.host, self.port = parse_host_port(endpoint)

    @property
    def description(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    def _bind(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise OSError(f"{self.endpoint.label}: cannot resolve {self.host}: {exc.strerror}") from None
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"{self.endpoint.label}: cannot listen on {self.description}: "
                                     f"{exc.strerror}") from None
        self.port = sock.getsockname()[1]
        return sock
