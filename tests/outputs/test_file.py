"""file:// and stdout://: appends, truncation, size rotation, and logrotate's
rename + SIGHUP and Dragonfly's SIGUSR1 on a running engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from mle.connectors import Context, build_sink
from mle.errors import ConfigError
from tests.conftest import REPO, run_mle
from tests.outputs.helpers import docs, wait_for


def file_sink(ctx: Context, uri: str, **options: object):
    sink = build_sink("f", uri, options, 'outputs[1] (tag "f")', ctx)
    sink.open()
    return sink


def test_relative_path_lands_in_the_log_dir_and_appends(ctx: Context):
    sink = file_sink(ctx, "file://out.json")
    sink.write_batch(docs(3))
    sink.close()
    sink = file_sink(ctx, "file://out.json")
    sink.write_batch(docs(2, start=3))
    sink.close()
    lines = (ctx.log_dir / "out.json").read_bytes().splitlines()
    assert [orjson.loads(line)["n"] for line in lines] == [0, 1, 2, 3, 4]


def test_trailing_lt_truncates_at_start(ctx: Context, tmp_path: Path):
    path = tmp_path / "t.json"
    path.write_bytes(b"old\n")
    sink = file_sink(ctx, f"file://{path}<")
    sink.write_batch(docs(1))
    sink.close()
    assert path.read_bytes().splitlines() == docs(1)


def test_size_rotation_keeps_n_files_and_never_splits_a_batch(ctx: Context, tmp_path: Path):
    path = tmp_path / "eve.json"
    sink = file_sink(ctx, f"file://{path}", max_bytes=1000, keep=2)
    batches = [docs(10, start=10 * i) for i in range(8)]  # 370-380 bytes each: two per file
    for batch in batches:
        sink.write_batch(batch)
    sink.close()
    files = sorted(p.name for p in tmp_path.glob("eve.json*"))
    assert files == ["eve.json", "eve.json.1", "eve.json.2"]
    for p in tmp_path.glob("eve.json*"):
        assert p.stat().st_size <= 1000
        numbers = [orjson.loads(line)["n"] for line in p.read_bytes().splitlines()]
        assert len(numbers) % 10 == 0, "a batch was split between files"
    # the newest data is in eve.json, then .1, then .2; older files were deleted
    newest = [orjson.loads(x)["n"] for x in path.read_bytes().splitlines()]
    one = [orjson.loads(x)["n"] for x in (tmp_path / "eve.json.1").read_bytes().splitlines()]
    two = [orjson.loads(x)["n"] for x in (tmp_path / "eve.json.2").read_bytes().splitlines()]
    assert max(two) < min(one) and max(one) < min(newest) and newest[-1] == 79
    assert sink.rotations == 3


def test_a_batch_bigger_than_max_bytes_goes_whole_into_a_new_file(ctx: Context, tmp_path: Path):
    path = tmp_path / "big.json"
    sink = file_sink(ctx, f"file://{path}", max_bytes=100)
    sink.write_batch(docs(1))
    sink.write_batch(docs(20, start=1))
    sink.close()
    assert len(path.read_bytes().splitlines()) == 20
    assert len((tmp_path / "big.json.1").read_bytes().splitlines()) == 1


def test_rotate_twice_in_one_second_keeps_both_files(ctx: Context, tmp_path: Path):
    path = tmp_path / "r.json"
    sink = file_sink(ctx, f"file://{path}")
    for i in range(3):
        sink.write_batch(docs(1, start=i))
        sink.rotate()
    sink.close()
    rotated = sorted(p for p in tmp_path.glob("r.json.*"))
    assert len(rotated) == 3
    assert sorted(orjson.loads(p.read_bytes())["n"] for p in rotated) == [0, 1, 2]


def test_reopen_after_a_rename_starts_a_new_file(ctx: Context, tmp_path: Path):
    path = tmp_path / "l.json"
    sink = file_sink(ctx, f"file://{path}")
    sink.write_batch(docs(2))
    os.rename(path, tmp_path / "l.json.1")  # what logrotate does before its postrotate HUP
    sink.write_batch(docs(1, start=2))  # still goes to the renamed file (same inode)
    sink.reopen()
    sink.write_batch(docs(1, start=3))
    sink.close()
    assert len((tmp_path / "l.json.1").read_bytes().splitlines()) == 3
    assert path.read_bytes().splitlines() == docs(1, start=3)


@pytest.mark.parametrize("options", [{"max_bytes": -1}, {"keep": 0}, {"max_byte": 10}, {"keep": "3"}])
def test_bad_options_name_the_entry(ctx: Context, options: dict):
    with pytest.raises(ConfigError, match=r'outputs\[1\] \(tag "f"\)'):
        build_sink("f", "file://x.json", options, 'outputs[1] (tag "f")', ctx)


CONFIG = """
inputs = { { tag = "eve", uri = "file://{input}", default_analyzer = "pass" } }
analyzers = { { tag = "pass", script = "pass.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "{output}" } }
mle = { batch_timeout_ms = 1 }
"""
PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"


def _numbers(*paths: Path) -> list[int]:
    """The sorted document numbers in these files (the engine does not promise order across events)."""
    return sorted(orjson.loads(line)["n"] for p in paths for line in p.read_bytes().splitlines())


def test_running_engine_reopens_on_sighup_and_rotates_on_sigusr1(make_root, tmp_path: Path):
    feed, out = tmp_path / "feed.json", tmp_path / "out" / "eve.json"
    feed.write_bytes(b"")
    root = make_root(CONFIG.replace("{input}", str(feed)).replace("{output}", f"file://{out}"),
                     analyzers={"pass.lua": PASS})
    process = subprocess.Popen([sys.executable, "-m", "mle", "run", "-r", str(root)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def append(start: int, n: int) -> None:
            with feed.open("ab") as f:
                f.write(b"".join(line + b"\n" for line in docs(n, start=start)))

        def lines_in(path: Path, n: int) -> bool:
            return path.exists() and len(path.read_bytes().splitlines()) >= n

        append(0, 10)
        wait_for(lambda: lines_in(out, 10), what="first lines")
        os.rename(out, out.with_name("eve.json.1"))  # logrotate: rename, then HUP
        append(10, 5)
        wait_for(lambda: lines_in(out.with_name("eve.json.1"), 15), what="lines into the renamed file")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: out.exists(), what="reopened file")
        append(15, 5)
        wait_for(lambda: lines_in(out, 5), what="lines after SIGHUP")
        process.send_signal(signal.SIGUSR1)
        wait_for(lambda: list(out.parent.glob("eve.json.2*")), what="rotated file")
        append(20, 5)
        wait_for(lambda: lines_in(out, 5) and not lines_in(out, 6), what="lines after SIGUSR1")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    stamped = list(out.parent.glob("eve.json.2*"))
    assert len(stamped) == 1
    assert _numbers(out.with_name("eve.json.1")) == list(range(15))
    assert _numbers(stamped[0]) == list(range(15, 20))
    assert _numbers(out) == list(range(20, 25))


def test_stdout_output_through_the_engine(make_root, tmp_path: Path):
    feed = tmp_path / "feed.json"
    feed.write_bytes(b"".join(line + b"\n" for line in docs(50)))
    root = make_root(CONFIG.replace("{input}", str(feed)).replace("{output}", "stdout://"),
                     analyzers={"pass.lua": PASS})
    result = run_mle("replay", "-r", str(root))
    assert result.returncode == 0, result.stderr.decode()
    assert sorted(orjson.loads(line)["n"] for line in result.stdout.splitlines()) == list(range(50))
