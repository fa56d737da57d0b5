"""The token that guards every request that changes state (POST).

Taken from ``mle = { http_token = ... }``, else the ``MLE_HTTP_TOKEN``
environment variable, else generated at start and written (mode 0600) to
``RUN_DIR/http.token``, where an operator's ``curl`` finds it. Requests carry it
as ``Authorization: Bearer TOKEN``; it is compared in constant time.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mle.http")

TOKEN_FILE = "http.token"
ENV = "MLE_HTTP_TOKEN"


@dataclass(frozen=True)
class Token:
    """The API token and where it came from ("config", "environment" or the file written)."""

    value: str
    origin: str

    def check(self, authorization: str | None) -> int:
        """0 when ``authorization`` (the header) carries this token, else the HTTP status
        to answer: 401 without a bearer token, 403 with a wrong one."""
        scheme, _, presented = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return 401
        return 0 if hmac.compare_digest(presented.strip().encode(), self.value.encode()) else 403


def resolve_token(configured: str | None, run_dir: Path) -> Token:
    """The configured token, the environment's, or a new one written 0600 to the run directory."""
    if configured:
        return Token(configured, "config.lua (mle.http_token)")
    if os.environ.get(ENV):
        return Token(os.environ[ENV], f"the environment ({ENV})")
    path = Path(run_dir) / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.unlink(missing_ok=True)  # a file left by another user must not keep its mode or owner
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return Token(value, str(path))
