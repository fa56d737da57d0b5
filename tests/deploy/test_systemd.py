"""deploy/mle.service and deploy/mle.logrotate: the unit is valid and hardened, its
timeouts and paths agree with deploy/sensor.lua, and rotated files are reopened."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mle.config import read_config_values
from tests.conftest import REPO

UNIT = REPO / "deploy/mle.service"
LOGROTATE = REPO / "deploy/mle.logrotate"
SENSOR = read_config_values(REPO / "deploy/sensor.lua", ["mle"])["mle"]


def unit_sections(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections: every key with all its values, in order (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{UNIT}:{number}: not a key=value line in a section: {raw!r}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


SERVICE = unit_sections(UNIT.read_text())["Service"]


def one(key: str) -> str:
    (value,) = SERVICE[key]
    return value


def test_the_unit_has_its_sections_and_starts_mle_with_the_sensor_config():
    assert set(unit_sections(UNIT.read_text())) == {"Unit", "Service", "Install"}
    assert one("ExecStart").split()[1:] == ["run", "-r", "/opt/mle", "-c", "/etc/mle/sensor.lua"]
    assert one("Restart") in ("on-failure", "always") and float(one("RestartSec")) > 0


def test_the_unit_is_hardened():
    assert one("User") not in ("", "root", "0")
    assert one("ProtectSystem") == "strict"
    assert one("NoNewPrivileges") == "yes"
    assert SERVICE["CapabilityBoundingSet"] == [""]
    for key in ("ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules",
                "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality"):
        assert one(key) == "yes", key


def test_only_the_log_and_run_directories_are_writable_and_they_are_mles():
    assert Path("/run", one("RuntimeDirectory")) == Path(SENSOR["run_dir"])
    assert Path("/var/log", one("LogsDirectory")) == Path(SENSOR["log_dir"])
    assert "ReadWritePaths" not in SERVICE  # ProtectSystem=strict leaves exactly those two writable


def test_reload_is_sighup_and_stop_drains_within_drain_timeout():
    assert one("ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one("KillSignal") == "SIGTERM"
    assert one("KillMode") == "mixed"  # the supervisor stops its processes itself
    assert SENSOR["drain_timeout"] < float(one("TimeoutStopSec")) <= SENSOR["drain_timeout"] + 60


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    # the unit names /opt/mle's venv; systemd checks the binary exists, so point it at this one
    mle = Path(sys.executable).parent / "mle"
    unit = tmp_path / "mle.service"
    unit.write_text(UNIT.read_text().replace("/opt/mle/.venv/bin/mle", str(mle)))
    verified = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and verified.stderr == "", verified.stderr  # unknown keys only warn


def logrotate_blocks(text: str) -> list[tuple[list[str], list[str]]]:
    """(paths, directive lines) of each block of a logrotate file."""
    blocks = []
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    i = 0
    while i < len(lines):
        assert lines[i].endswith("{"), f"{LOGROTATE}: expected 'PATHS {{', got {lines[i]!r}"
        paths = lines[i][:-1].split()
        body = []
        i += 1
        while lines[i] != "}":
            body.append(lines[i])
            i += 1
        blocks.append((paths, body))
        i += 1
    return blocks


def test_logrotate_covers_mles_files_and_makes_it_reopen_them():
    blocks = logrotate_blocks(LOGROTATE.read_text())
    rotated = {path for paths, _ in blocks for path in paths}
    log_dir = Path(SENSOR["log_dir"])
    names = ("eve-mle.json", "mle.log", "mle-stats.log", "dead-letter.jsonl")
    assert {str(log_dir / name) for name in names} <= rotated
    for paths, body in blocks:
        if str(log_dir / "eve-mle.json") in paths:
            script = body[body.index("postrotate") + 1 : body.index("endscript")]
            assert any("--signal=HUP" in line and "--kill-whom=main" in line and "mle.service" in line
                       for line in script)
            assert "copytruncate" not in body
        if str(log_dir / "dead-letter.jsonl") in paths:
            assert "copytruncate" in body  # appended to by every process, not reopened on SIGHUP
        assert any(line.startswith("su mle ") for line in body)
