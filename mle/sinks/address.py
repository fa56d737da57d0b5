"""Parsing the network part of output URIs (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from mle.errors import ConfigError


@dataclass(frozen=True)
class HostPort:
    """``[user[:password]@]host:port`` of a URI; credentials are percent-decoded."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def split_userinfo(authority: str) -> tuple[str | None, str | None, str]:
    """``user:pass@host:port`` -> (user, password, "host:port"); absent parts are None."""
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        return None, None, authority
    user, colon, password = userinfo.partition(":")
    return (unquote(user) if user else None), (unquote(password) if colon else None), hostport


def parse_host_port(authority: str, label: str, example: str, default_port: int | None = None) -> HostPort:
    """``host:port``, ``[v6]:port`` or ``host`` (when there is a default port), with
    optional credentials before an ``@``. Raises ConfigError naming the entry.

    >>> parse_host_port("u:p%40ss@[::1]:4222", "x", "nats://h:4222/s")
    HostPort(host='::1', port=4222, user='u', password='p@ss')
    """
    user, password, hostport = split_userinfo(authority)
    host, port_text = hostport, ""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise ConfigError(f'{label}: unclosed "[" in "{authority}" (e.g. {example})')
        host, rest = hostport[1:close], hostport[close + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f'{label}: cannot read host:port from "{authority}" (e.g. {example})')
            port_text = rest[1:]
    elif ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
    if not port_text:
        if default_port is None:
            raise ConfigError(f'{label}: "{authority}" needs host:port (e.g. {example})')
        port = default_port
    elif not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ConfigError(f'{label}: port "{port_text}" is not a port number (e.g. {example})')
    else:
        port = int(port_text)
    if not host:
        raise ConfigError(f'{label}: "{authority}" has no host (e.g. {example})')
    return HostPort(host, port, user, password)
