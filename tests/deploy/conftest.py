"""What the deployment tests share: the compose file, the MLE service's environment
with the test's own Redis, and an OpenSearch-compatible server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mle.redis.pipe import RedisAddress
from tests.conftest import REPO
from tests.outputs.helpers import Osmem

COMPOSE_FILE = REPO / "docker-compose.yml"
DEFAULTED = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def resolve(value: str) -> str:
    """``${VAR:-default}`` as compose reads it when VAR is unset: the default."""
    return DEFAULTED.sub(lambda m: m.group(2) or "", value)


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of a service's bind mounts (named volumes left out)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = resolve(volume).split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((REPO / source).resolve(), target))
    return mounts


def host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """The host file behind a path inside a service's container, through its bind mounts."""
    for source, target in bind_mounts(service):
        if container_path == target:
            return source
        if container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target.rstrip("/")) + 1 :]
    return None


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture
def mle_env(compose: dict[str, Any], redis_server: RedisAddress, tmp_path: Path) -> dict[str, str]:
    """The MLE service's environment as compose gives it, with what only the container
    has replaced: the test's Redis (a unix socket) and a socket path under tmp_path."""
    env = {name: resolve(str(value)) for name, value in compose["services"]["mle"]["environment"].items()}
    assert redis_server.unix_socket is not None
    env.update(MLE_REDIS_HOST=redis_server.unix_socket, MLE_REDIS_PORT="0", MLE_EVE_SOCKET=str(tmp_path / "eve.sock"))
    return env


@pytest.fixture(scope="module")
def osmem() -> Iterator[Osmem]:
    server = Osmem().start()
    yield server
    server.stop()
