"""Logs: one line per record as text, JSON lines or key=value; scripts' print() shown
at the default level, at most 20 a minute per script; nothing wrapped off a terminal."""

from __future__ import annotations

import orjson

from tests.conftest import run_mle

CONFIG = """
inputs = { { tag = "eve", uri = "file://eve.json", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""
FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"
PRINTS = 'function loop(msg) print("event", msg.i, "line one\\nline two") end'


def replay(make_root, *args: str, events: int = 5, env: dict | None = None) -> list[str]:
    root = make_root(CONFIG, inputs={"f.lua": FORWARD}, analyzers={"a.lua": PRINTS},
                     files={"eve.json": "".join(f'{{"flow_id": {i}, "i": {i}}}\n' for i in range(events))})
    result = run_mle("replay", "-r", str(root), "--no-progress", *args, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result.stderr.decode().splitlines()


def test_json_lines_name_the_process_and_the_script(make_root):
    lines = [orjson.loads(line) for line in replay(make_root, "--workers", "2", "--log-format", "json")
             if line.startswith("{")]
    printed = [entry for entry in lines if entry["logger"] == "mle.script"]
    assert len(printed) == 5
    assert {entry["process"] for entry in printed} <= {"worker-0", "worker-1"}
    assert {entry["script"] for entry in printed} == {"analyzer a"}
    assert {entry["level"] for entry in printed} == {"info"}
    assert "analyzer a: event\t3\tline one\nline two" in {entry["message"] for entry in printed}
    assert all(entry["time"].endswith("Z") for entry in lines)


def test_key_value_lines(make_root):
    lines = replay(make_root, "--workers", "0", "--log-format", "kv")
    printed = [line for line in lines if "logger=mle.script" in line]
    assert len(printed) == 5
    assert printed[0].startswith("time=")
    assert ' level=info process=main logger=mle.script message="analyzer a: event\\t0\\tline one\\nline two" ' \
        'script="analyzer a"' in printed[0]


def test_text_lines_keep_a_record_on_one_line(make_root):
    printed = [line for line in replay(make_root, "--workers", "0") if "mle.script" in line]
    assert len(printed) == 5  # shown at replay's default level (warnings), one line each
    assert printed[0].endswith("INFO main mle.script: analyzer a: event\t0\tline one\\nline two")


def test_prints_are_rate_limited_per_script_and_can_be_quieted(make_root):
    printed = [line for line in replay(make_root, "--workers", "0", events=100) if "mle.script" in line]
    assert len(printed) == 20  # at most 20 a minute per script and level
    assert not [line for line in replay(make_root, "--workers", "0", "--quiet-scripts") if "mle.script" in line]


def test_nothing_is_wrapped_at_the_terminal_width_off_a_terminal(make_root):
    tag = "an-analyzer-with-a-name-much-longer-than-forty-columns"
    root = make_root(CONFIG.replace('"a", script', f'"{tag}", script').replace('default_analyzer = "a"',
                                                                               f'default_analyzer = "{tag}"')
                     + "mle = { batch_sise = 3 }",
                     inputs={"f.lua": FORWARD}, analyzers={"a.lua": "function loop(m) end"}, files={"eve.json": ""})
    result = run_mle("check", "-r", str(root), env={"COLUMNS": "40"})
    error = result.stderr.decode().splitlines()
    assert result.returncode == 2
    assert error == ['mle: mle settings: unknown key "batch_sise" (did you mean "batch_size"?)']
    (root / "config.lua").write_text((root / "config.lua").read_text().replace("batch_sise", "batch_size"))
    result = run_mle("replay", "-r", str(root), "--workers", "0", "--no-progress", env={"COLUMNS": "40"})
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stderr.decode().splitlines()
    assert any(line.startswith(f" {tag} ") for line in lines), lines  # the table row stays one line
    assert any(line.startswith("MLE: 0 lines from ") and line.endswith("lua54") for line in lines), lines
