"""Where the HTTP API listens: ``HOST:PORT``, ``[IPv6]:PORT`` or ``off``."""

from __future__ import annotations

from mle.errors import ConfigError

OFF = "off"
DEFAULT = "127.0.0.1:7070"  # Dragonfly MLE's address


def parse_listen(value: str, where: str) -> tuple[str, int] | None:
    """(host, port) of ``value``, or None for ``off``. Raises ConfigError naming
    ``where`` and the problem."""
    text = str(value).strip()
    if text.lower() == OFF:
        return None
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f'{where}: expected HOST:PORT (e.g. {DEFAULT}) or "off", not {value!r}')
    return host, int(port_text)


def format_listen(host: str, port: int) -> str:
    """``host:port`` as a URL authority (IPv6 in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
