"""The mle command as a user runs it: real processes, real files, real signals."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, run_mle
from tests.waiting import wait_for

SAMPLE = REPO / "data/eve/sample.eve.json.gz"
SAMPLE_LINES = gzip.decompress(SAMPLE.read_bytes()).splitlines()


def shipped_root(tmp_path: Path) -> Path:
    """A copy of the repository's own root (config.lua, inputs/, analyzers/, data/)."""
    root = tmp_path / "root"
    for name in ("inputs", "analyzers", "outputs", "data"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "config.lua", root / "config.lua")
    return root


def read_json_lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_replay_of_the_shipped_pipeline(tmp_path):
    root = shipped_root(tmp_path)
    result = run_mle("replay", "-r", str(root), "--show", "2")
    assert result.returncode == 0, result.stderr.decode()
    summary = result.stderr.decode()
    assert "2,325 lines from" in summary
    assert "triage" in summary and "analyzer" in summary
    out = read_json_lines(root / "var/log/eve-mle.json")
    # one record of the sample has no event_type; the input script logs it instead
    assert len(out) == len(SAMPLE_LINES) - 1
    assert sum("mle" in e for e in out) > 0.6 * len(out)  # smb, dhcp, fileinfo, ...: no shipped analyzer
    formbook = [e for e in out if "FormBook" in e.get("alert", {}).get("signature", "")]
    assert formbook and all(e["mle"]["priority"] >= 0.9 for e in formbook)
    assert result.stdout.decode().count('"scores"') == 2  # --show 2 printed two annotated events
    assert read_json_lines(root / "var/log/mle.log") == [
        {"dropped": "record without event_type", "timestamp": "2025-01-31T11:30:18.762228+0100"}
    ]


def findings(path: Path) -> list[tuple[bytes, list[tuple[str, str]]]]:
    """(the fields that identify an event, its findings as (analyzer, reason)) for every
    event, sorted: output order across workers is not input order."""
    keys = ("timestamp", "flow_id", "event_type", "tx_id", "src_ip", "dest_ip", "dest_port")
    return sorted((orjson.dumps([e.get(k) for k in keys]),
                   [(f["analyzer"], f["reason"]) for f in e.get("mle", {}).get("findings", [])])
                  for e in read_json_lines(path))


def test_the_shipped_pipeline_finds_the_same_whatever_the_number_of_workers(tmp_path):
    # The default config shards by source address and the shipped analyzers keep their
    # state per host, so no finding depends on how events are spread over workers or
    # interleaved between hosts. (Scores of per-worker views, such as flow-outlier's
    # per-service statistics, may differ in their last digits.)
    root = shipped_root(tmp_path)
    runs = []
    for workers in ("0", "2", "2"):
        out = tmp_path / f"out-{len(runs)}.json"
        result = run_mle("replay", "-r", str(root), "--workers", workers, "--out", str(out))
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        runs.append(findings(out))
    one_process, *several = runs
    assert len(one_process) == len(SAMPLE_LINES) - 1
    assert sum(1 for _, found in one_process if found) > 300  # events with findings
    assert all(run == one_process for run in several)


def test_replay_out_collects_everything_in_one_file(tmp_path):
    root = shipped_root(tmp_path)
    out = tmp_path / "all.json"
    result = run_mle("replay", str(SAMPLE), "-r", str(root), "--out", str(out))
    assert result.returncode == 0
    assert len(out.read_bytes().splitlines()) == len(SAMPLE_LINES) - 1
    assert not (root / "var/log/eve-mle.json").exists()


def test_replay_to_stdout(tmp_path):
    root = shipped_root(tmp_path)
    result = run_mle("replay", "-r", str(root), "--out", "-")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(SAMPLE_LINES) - 1
    assert {orjson.loads(line).get("flow_id") for line in lines} == {
        orjson.loads(line).get("flow_id") for line in SAMPLE_LINES if b'"event_type"' in line
    }


def test_replay_chooses_the_input_by_tag(make_root, tmp_path):
    root = make_root(
        """
        inputs = {
          { tag = "one", uri = "file://a.json", script = "mark.lua", default_analyzer = "a" },
          { tag = "two", uri = "file://b.json", script = "mark.lua", default_analyzer = "a" },
        }
        analyzers = { { tag = "a", script = "a.lua", default_output = "out" } }
        outputs = { { tag = "out", uri = "file://out.json" } }
        """,
        inputs={"mark.lua": "function loop(m) m.via = default_analyzer .. '/' .. tostring(m.x) "
                            "dragonfly.analyze_event(default_analyzer, m) end"},
        analyzers={"a.lua": "function loop(m) dragonfly.output_event(default_output, m) end"},
    )
    eve = tmp_path / "eve.json"
    eve.write_text('{"x":1}\n')
    assert run_mle("replay", str(eve), "-r", str(root), "--input", "TWO").returncode == 0
    assert read_json_lines(root / "var/log/out.json") == [{"x": 1, "via": "a/1"}]
    bad = run_mle("replay", str(eve), "-r", str(root), "--input", "three")
    assert bad.returncode == 2 and 'no input with tag "three" (configured: one, two)' in bad.stderr.decode()


def test_check_reports_scripts_and_fails_on_a_broken_one(tmp_path):
    root = shipped_root(tmp_path)
    result = run_mle("check", "-r", str(root))
    assert result.returncode == 0
    assert "analyzer triage" in result.stderr.decode()
    (root / "analyzers/triage.lua").write_text(
        'analyzer = { event_types = "*" }\nfunction loop(msg)\n  local x = \nend\n')
    broken = run_mle("check", "-r", str(root))
    assert broken.returncode == 3
    where = r'analyzers\[\d+\] \(tag "triage"\): analyzers/triage.lua:4:'
    assert re.search(where, broken.stderr.decode())


def test_keep_going_processes_and_exits_3(tmp_path):
    root = shipped_root(tmp_path)
    (root / "analyzers/triage.lua").write_text('analyzer = { event_types = "*" }\n'
                                                      "function setup() error('model missing') end\n"
                                                      "function loop(msg) end\n")
    result = run_mle("replay", "-r", str(root), "--keep-going", "--out", str(tmp_path / "o.json"))
    assert result.returncode == 3
    assert "not loaded:" in result.stderr.decode() and "model missing" in result.stderr.decode()
    out = read_json_lines(tmp_path / "o.json")
    assert len(out) == len(SAMPLE_LINES) - 1
    assert out[0]["mle"]["errors"][0]["error"] == "skipped: script is quarantined"


def count_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


@pytest.fixture
def running(tmp_path):
    """Start `mle run` on a root that follows a growing file; yields (process, root, eve file)."""
    root = shipped_root(tmp_path)
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"\n".join(SAMPLE_LINES[:100]) + b"\n")
    config = (root / "config.lua").read_text().replace("file://data/eve/sample.eve.json.gz", f"file://{eve}")
    (root / "config.lua").write_text(config)
    process = subprocess.Popen(
        [sys.executable, "-m", "mle", "run", "-r", str(root)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    yield process, root, eve
    if process.poll() is None:
        process.kill()
        process.wait()


def test_run_follows_the_file_and_drains_on_sigterm(running):
    process, root, eve = running
    out = root / "var/log/eve-mle.json"
    wait_for(lambda: count_lines(out) == 100, what="the first 100 events")
    with eve.open("ab") as f:  # Suricata appends
        f.write(b"\n".join(SAMPLE_LINES[100:300]) + b"\n")
    wait_for(lambda: count_lines(out) == 300, what="appended events")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "SIGTERM: draining and stopping" in stderr.decode()
    assert count_lines(out) == 300
    assert not (root / "var/run/redis.sock").exists()
    stats = read_json_lines(root / "var/log/mle-stats.log")[-1]
    operations = stats["operations"]
    assert operations["input"] == 300 and operations["output"] == 300
    # the last stats line counts every event: ioc takes each flow, dns, tls and http record
    taken = sum(orjson.loads(line).get("event_type") in ("flow", "dns", "tls", "http") for line in SAMPLE_LINES[:300])
    assert stats["scripts"]["analyzer:ioc"]["n_in"] == taken > 0
    assert operations["analyzer"] > taken


def test_sighup_reopens_the_output_for_logrotate(running):
    process, root, eve = running
    out = root / "var/log/eve-mle.json"
    wait_for(lambda: count_lines(out) == 100, what="the first 100 events")
    rotated = out.with_name("eve-mle.json.1")
    os.rename(out, rotated)  # what logrotate does
    process.send_signal(signal.SIGHUP)
    wait_for(out.exists, what="the output reopened under its name")  # reopening creates it
    with eve.open("ab") as f:
        f.write(b"\n".join(SAMPLE_LINES[100:150]) + b"\n")
    wait_for(lambda: count_lines(out) == 50, what="events in the reopened file")
    assert count_lines(rotated) == 100
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_replay_shows_findings_per_analyzer_and_the_events_of_highest_priority(make_root, tmp_path):
    root = make_root(
        """
        inputs = { { tag = "eve", uri = "file://x", script = "route.lua" } }
        outputs = { { tag = "out", uri = "file://out.json" } }
        """,
        inputs={"route.lua": "function loop(msg) mle.route(msg) end"},
        analyzers={
            "odd.lua": 'analyzer = { event_types = "*" }\n'
                       "function loop(msg)\n"
                       "  if msg.i % 2 == 1 then mle.finding(msg, msg.i / 100, 'odd ' .. msg.i) end\n"
                       "end",
            "big.lua": 'analyzer = { event_types = "*" }\n'
                       "function loop(msg) if msg.i >= 90 then mle.finding(msg, 0.5, 'big ' .. msg.i) end end",
        })
    eve = tmp_path / "eve.json"
    eve.write_text("".join(f'{{"event_type":"flow","i":{i}}}\n' for i in range(100)))
    result = run_mle("replay", str(eve), "-r", str(root), "--top", "3", "--show", "1", "--no-progress")
    assert result.returncode == 0, result.stderr.decode()
    stderr = result.stderr.decode()
    assert "findings: 55 events with findings" in stderr and "(odd 50, big 10)" in stderr
    table = stderr[stderr.index("findings:"):]
    assert table.index("odd 99") < table.index("odd 97") < table.index("odd 95")  # highest priority first
    assert "odd 93" not in table  # only the top 3
    assert '"i": 99' in result.stdout.decode()  # --show prints the most important event in full
