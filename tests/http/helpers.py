"""Talking to a running engine's HTTP API from tests: plain http.client, no client library."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from tests.conftest import REPO
from tests.waiting import wait_for


class Api:
    """The API at ``url``; ``token`` for POST requests."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    @classmethod
    def of(cls, run_dir: Path, timeout: float = 60) -> Api:
        """The API of the engine whose run directory is ``run_dir`` (once it listens)."""
        url_file = run_dir / "http.url"
        wait_for(url_file.exists, timeout=timeout, what=f"{url_file}")
        token_file = run_dir / "http.token"
        return cls(url_file.read_text().strip(), token_file.read_text().strip() if token_file.exists() else "")

    def request(self, method: str, path: str, body: bytes | dict | None = None,
                headers: dict[str, str] | None = None, token: str | None = None) -> tuple[int, Any, dict]:
        """(status, decoded JSON or raw bytes, headers)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if token is None and method == "POST":
                token = self.token
            if token:
                sent["Authorization"] = f"Bearer {token}"
            data = orjson.dumps(body) if isinstance(body, dict) else body
            connection.request(method, path, body=data, headers=sent)
            answer = connection.getresponse()
            raw = answer.read()
            kind = answer.getheader("Content-Type", "")
            return answer.status, orjson.loads(raw) if kind.startswith("application/json") else raw, \
                dict(answer.getheaders())
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, Any]:
        status, body, _ = self.request("GET", path)
        return status, body

    def post(self, path: str, body: bytes | dict | None = None, token: str | None = None) -> tuple[int, Any]:
        status, answer, _ = self.request("POST", path, body, token=token)
        return status, answer


def start_engine(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`mle run -r root --http 127.0.0.1:0 *args`, its output in files beside the root."""
    return subprocess.Popen(
        [sys.executable, "-m", "mle", "run", "-r", str(root), "--http", "127.0.0.1:0", *args], cwd=REPO,
        stdout=(root.parent / "engine.out").open("wb"), stderr=(root.parent / "engine.err").open("wb"),
        env={**os.environ, "COLUMNS": "200", **(env or {})})


def engine_log(root: Path) -> str:
    path = root.parent / "engine.err"
    return path.read_text(errors="replace") if path.exists() else ""
