"""``mle new analyzer`` and ``mle test``, as a user runs them (the real CLI in a process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_mle


@pytest.fixture
def shipped_root(tmp_path: Path) -> Path:
    """A copy of the repository's root: config.lua, the shipped scripts (no golden cases)."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(REPO / "config.lua", root)
    for folder in ("inputs", "outputs"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "analyzers").mkdir()
    for script in (REPO / "analyzers").glob("*.lua"):
        shutil.copy(script, root / "analyzers")
    shutil.copytree(REPO / "analyzers" / "data", root / "analyzers" / "data")  # models, indicator lists
    (root / "data").symlink_to(REPO / "data")
    return root


def test_a_new_analyzer_passes_its_golden_case_and_loads_as_written(shipped_root):
    made = run_mle("new", "analyzer", "dns-burst", "-r", str(shipped_root))
    assert made.returncode == 0, made.stderr.decode()
    case = shipped_root / "analyzers/tests/dns-burst/burst"
    assert sorted(p.name for p in case.iterdir()) == ["config.lua", "expected.json", "input.json"]
    script = (shipped_root / "analyzers/dns-burst.lua").read_text()
    for part in ('analyzer = { event_types = { "dns" }', "function setup()", "function loop(msg)",
                 "mle.finding(msg", "mle.score(msg", 'redis:command("INCR"', "function feedback(fb)"):
        assert part in script
    tested = run_mle("test", "dns-burst", "-r", str(shipped_root))
    assert tested.returncode == 0, tested.stdout.decode() + tested.stderr.decode()
    assert "ok    dns-burst/burst (5 events)" in tested.stdout.decode()
    checked = run_mle("check", "-r", str(shipped_root))
    assert checked.returncode == 0, checked.stderr.decode()
    assert "dns-burst" in checked.stderr.decode()
    assert "warning:" not in checked.stderr.decode()  # the skeleton passes its own lint


def test_new_never_overwrites(shipped_root):
    assert run_mle("new", "analyzer", "mine", "-r", str(shipped_root)).returncode == 0
    script = shipped_root / "analyzers/mine.lua"
    script.write_text("-- my work\n")
    again = run_mle("new", "analyzer", "mine", "-r", str(shipped_root))
    assert again.returncode != 0
    assert "mine.lua already exists: nothing written" in again.stderr.decode()
    assert script.read_text() == "-- my work\n"
    taken = run_mle("new", "analyzer", "beacon", "-r", str(shipped_root))
    assert taken.returncode != 0 and "beacon.lua already exists" in taken.stderr.decode()


@pytest.mark.parametrize("name", ["Caps", "with space", "../escape", "9lives"])
def test_new_refuses_a_name_that_is_not_a_tag(shipped_root, name):
    made = run_mle("new", "analyzer", name, "-r", str(shipped_root))
    assert made.returncode == 2
    assert "use lower-case letters" in made.stderr.decode()
    assert sorted(p.name for p in (shipped_root / "analyzers").glob("*.lua")) == sorted(
        p.name for p in (REPO / "analyzers").glob("*.lua"))
    assert not (shipped_root / "analyzers/tests").exists()


def test_a_failing_case_prints_the_difference_and_exits_1_and_update_rewrites_it(shipped_root):
    run_mle("new", "analyzer", "dns-burst", "-r", str(shipped_root))
    expected = shipped_root / "analyzers/tests/dns-burst/burst/expected.json"
    original = expected.read_text()
    expected.write_text(original.replace("0.6666666666666666", "0.7"))
    failed = run_mle("test", "-r", str(shipped_root))
    out = failed.stdout.decode()
    assert failed.returncode == 1
    assert "FAIL  dns-burst/burst" in out
    assert "expected #2 differs from produced #2 (dns, flow_id 1002" in out
    assert "mle.scores.dns-burst: expected 0.7, got 0.6666666666666666" in out
    assert "1 case: 0 passed, 1 failed (dns-burst/burst)" in out
    updated = run_mle("test", "dns-burst", "--update", "-r", str(shipped_root))
    assert updated.returncode == 0 and "(5 events)" in updated.stdout.decode()
    assert expected.read_text() == original
    assert run_mle("test", "-r", str(shipped_root)).returncode == 0


def test_no_cases_or_an_unknown_tag_is_an_error(shipped_root):
    none = run_mle("test", "-r", str(shipped_root))
    assert none.returncode == 1 and "no golden cases in" in none.stderr.decode()
    unknown = run_mle("test", "nosuch", "-r", str(shipped_root))
    assert unknown.returncode == 2 and 'no golden cases for "nosuch"' in unknown.stderr.decode()
