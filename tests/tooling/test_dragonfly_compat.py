"""benchmarks/dragonfly_compat.py, the tool behind the README's compatibility claim.

It evaluates the Dragonfly collection's bats files itself (no bats, jq or bc here), so a
check it gets wrong would turn into a false PASS. These tests hold its contract: every
``@test`` block is a case with the file's setup(), the dga checks (arrays, ``bc``
comparisons) pass only when they hold, and a construct it cannot evaluate is never a
verdict.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import orjson
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def compat():
    """The script, imported as a module (it is not a package member)."""
    spec = importlib.util.spec_from_file_location("dragonfly_compat", BENCHMARKS / "dragonfly_compat.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    sys.path.insert(0, str(BENCHMARKS))  # for its sibling c_engine
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))
        del sys.modules[spec.name]


BATS = """#!/usr/bin/env bats
function setup() {
    redis-cli flushall 3>&- &
    cat /dev/null > /var/log/dragonfly-mle/two.log
}

@test "First" {
    cp test/two/config.lua /usr/local/dragonfly-mle/config/config.lua
    cd /usr/local/dragonfly-mle
    ./bin/dragonfly-mle 3>&- &
    run bash -c "tail -n 2 /var/log/dragonfly-mle/two.log"
    [ "$status" -eq 0 ]
}

@test "Second, skipped" {
    skip "not today"
}
"""

# the dga test's score checks, as its bats file writes them
SCORES = r"""
    event_type="alert"
    field="analytics.dga.score"
    tail_command="tail -n '3' ${log_file}"
    jq_command1="jq -r 'select(.event_type == \"${event_type}\")'"
    jq_command2="jq -r 'if .${field} then .${field}|@text else empty end'"
    command="${tail_command} | ${jq_command1} | ${jq_command2}"
    run bash -c "${command}"
    scores=(${output//$'\n'/ })
    dga_score=${scores[1]}
    edu_score=${scores[0]}
    run bash -c "echo '${dga_score}>${edu_score}' | bc"
    [ "$status" -eq 0 ]
    [ "$output" -eq 1 ]
"""


def test_every_test_block_is_a_case_with_the_files_setup(compat, tmp_path):
    path = tmp_path / "test" / "two" / "two-test.bats"
    path.parent.mkdir(parents=True)
    path.write_text(BATS)
    first, second = compat.parse_bats(path)
    assert (first.name, second.name) == ("two: First", "two: Second, skipped")
    assert first.setup == second.setup and any("flushall" in line for line in first.setup)
    assert first.copies == [("test/two/config.lua", "/usr/local/dragonfly-mle/config/config.lua")]
    assert first.skip is None and second.skip == "not today"
    assert any("tail -n 2" in line for line in first.body)


def run_checks(compat, tmp_path: Path, body: str, scores: list[float]):
    log = tmp_path / "dga.log"
    log.write_bytes(b"".join(orjson.dumps({"event_type": "alert", "analytics": {"dga": {"score": s}}}) + b"\n"
                             for s in scores))
    shell = compat.Shell(tmp_path, tmp_path)
    shell.vars["log_file"] = str(log)
    for line in compat.logical_lines(body):
        shell.execute(line, on_wait=None)
    return shell


def test_the_dga_score_checks_pass_only_when_they_hold(compat, tmp_path):
    holds = run_checks(compat, tmp_path, SCORES, [0.0142, 0.9587, 0.0164])
    assert holds.checks == [] and holds.passed == 2
    fails = run_checks(compat, tmp_path, SCORES, [0.9587, 0.0142, 0.0164])  # dga below edu
    assert [what for what, _, _ in fails.checks] == ['"$output" -eq 1']


def test_bc_compares_decimals_exactly_and_reports_a_missing_operand(compat):
    assert compat.run_bc("0.30000000000001>0.3\n0.3<0.3\n-1<=0\n") == "1\n0\n1\n"
    assert compat.run_bc(">0\n") == "(standard_in) 1: syntax error\n"  # an empty variable, as bc says it


@pytest.mark.parametrize("line", [
    'run bash -c "awk 1 /var/log/dragonfly-mle/x.log"',  # a command outside the subset
    'run bash -c "echo \'2^8\' | bc"',                     # bc beyond comparisons
    "n=${#scores}",                                        # a parameter expansion outside the subset
])
def test_what_it_cannot_evaluate_is_never_a_verdict(compat, tmp_path, line):
    shell = compat.Shell(tmp_path, tmp_path)
    with pytest.raises(compat.Unsupported):
        shell.execute(line, on_wait=None)
