"""docker-compose.yml, checked without a container engine (CI has none): it parses,
everything it names exists, the services are wired end to end, and the MLE
configuration it runs passes ``mle check``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mle.config import read_config_values
from tests.conftest import REPO, run_mle
from tests.deploy.conftest import bind_mounts, host_path, resolve

SECONDS = re.compile(r"^(\d+)s$")


def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def test_every_service_has_an_image_or_a_build_of_this_repository(compose):
    for name, service in services(compose).items():
        assert service.get("image") or service.get("build"), f"service {name}: neither image nor build"
        if "build" in service:
            context = REPO / (service["build"] if isinstance(service["build"], str) else service["build"]["context"])
            assert (context / "Dockerfile").is_file(), f"service {name}: no Dockerfile in {context}"


def test_every_file_the_services_mount_or_run_exists(compose):
    declared = set(compose.get("volumes", {}))
    for name, service in services(compose).items():
        for volume in service.get("volumes", []):
            source = resolve(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"service {name}: volume {source} is not declared"
        for source, _ in bind_mounts(service):
            assert source.exists(), f"service {name} mounts {source}, which does not exist"
        command = service.get("command", [])
        for arg in [resolve(a) for a in command if isinstance(a, str)]:
            for path in re.findall(r"(?:^|=)(/\S+\.(?:yaml|lua|sh|json|ndjson))$", arg):
                found = host_path(service, path)
                if found is not None:
                    assert found.is_file(), f"service {name} runs {path} = {found}, which does not exist"


def test_the_dockerfile_copies_files_that_exist_and_runs_as_a_user():
    lines = (REPO / "Dockerfile").read_text().splitlines()
    copies = [line.split()[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies
    for sources in copies:
        for source in sources:
            assert (REPO / source).exists(), f"Dockerfile copies {source}, which does not exist"
    assert any(line.startswith("USER ") and line.split()[1] != "root" for line in lines)


def test_dependencies_wait_for_what_they_need(compose):
    every = services(compose)
    for name, service in every.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in every, f"{name} depends on {dependency}, not a service"
            condition = rule.get("condition")
            if condition == "service_healthy":
                assert "healthcheck" in every[dependency], f"{name} waits for {dependency} to be healthy: no check"
            if condition == "service_completed_successfully":
                assert every[dependency].get("restart") == "no", f"{dependency} is waited for once: restart no"
            if every[dependency].get("profiles") and not set(every[dependency]["profiles"]) & set(
                    service.get("profiles", [])):
                assert rule.get("required") is False, f"{name} needs {dependency}, which only a profile starts"


def test_suricata_writes_eve_to_the_socket_mle_listens_on(compose):
    mle = services(compose)["mle"]
    socket = resolve(mle["environment"]["MLE_EVE_SOCKET"])
    run_volume = next(v.split(":")[0] for v in mle["volumes"] if v.split(":")[1] == str(Path(socket).parent))
    for name in ("suricata", "suricata-pcap"):
        suricata = services(compose)[name]
        assert f"{run_volume}:{Path(socket).parent}" in suricata["volumes"]
        config_file = host_path(suricata, suricata["command"][suricata["command"].index("-c") + 1])
        config = yaml.safe_load(config_file.read_text())
        (output,) = config["outputs"]
        snippet = yaml.safe_load((config_file.parent / output["eve-log"]["include"]).read_text())
        assert snippet["enabled"] is True
        assert (snippet["filetype"], snippet["filename"]) == ("unix_stream", socket)
        assert suricata["depends_on"] == {"mle": {"condition": "service_healthy"}}
    assert str(Path(socket)) in " ".join(mle["healthcheck"]["test"])  # healthy = listening


def test_mle_is_given_time_to_drain(compose):
    drain = read_config_values(REPO / "deploy/sensor.lua", ["mle"])["mle"]["drain_timeout"]
    grace = int(SECONDS.match(services(compose)["mle"]["stop_grace_period"]).group(1))
    assert drain < grace <= drain + 60


@pytest.mark.parametrize("search", ["", "opensearch+http://opensearch:9200/mle-%Y.%m.%d"])
def test_the_mle_configuration_inside_passes_mle_check(compose, mle_env, tmp_path, search):
    mle = services(compose)["mle"]
    command = mle["command"]
    config = host_path(mle, command[command.index("-c") + 1])
    assert config == REPO / "deploy/sensor.lua"
    mle_env["MLE_OPENSEARCH_URL"] = search
    checked = run_mle("check", "-r", str(REPO), "-c", str(config), "--run-dir", str(tmp_path / "run"),
                      "--log-dir", str(tmp_path / "log"), env=mle_env)
    err = checked.stderr.decode()
    assert checked.returncode == 0, err
    assert f"ok: {config}" in err
    assert "input    eve" in err and "output   eve-mle -> file://eve-mle.json" in err
    assert ("output   search -> " + search in err) == bool(search)
    assert "warning:" not in err
