"""``tail://``: following Suricata's eve.json through rotations, as tail -F does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from input_peers import assert_close_ends_a_blocked_read, collect, drain, records, wait_for


def append(path: Path, lines: list[bytes], raw: bytes = b"") -> None:
    with path.open("ab") as f:  # Suricata opens eve.json with O_APPEND
        for line in lines:
            f.write(line + b"\n")
        f.write(raw)


def seqs(lines: list[bytes]) -> list[int]:
    return [orjson.loads(x)["seq"] for x in lines]


def test_starts_at_the_end_by_default(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    append(path, records(5))
    source = make_source(f"tail://{path}", poll_interval=0.02)
    assert drain(source, 0.1) == []
    append(path, records(3, start=5))
    assert seqs(collect(source, 3)) == [5, 6, 7]


def test_dragonfly_suffix_and_option_read_from_the_start(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    append(path, records(5))
    assert seqs(collect(make_source(f"tail://{path}<"), 5)) == [0, 1, 2, 3, 4]
    assert seqs(collect(make_source(f"tail://{path}", from_start=True), 5)) == [0, 1, 2, 3, 4]


def test_relative_path_resolves_against_the_root(make_source, context) -> None:
    append(context.root / "eve.json", records(2))
    assert len(collect(make_source("tail://eve.json<"), 2)) == 2


def test_missing_file_is_waited_for_and_read_whole(make_source, tmp_path: Path) -> None:
    path = tmp_path / "later" / "eve.json"
    source = make_source(f"tail://{path}", poll_interval=0.02)
    assert drain(source, 0.1) == []
    path.parent.mkdir()
    append(path, records(4))
    assert seqs(collect(source, 4)) == [0, 1, 2, 3]


def test_partial_line_waits_for_its_newline(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.touch()
    source = make_source(f"tail://{path}", poll_interval=0.02)
    record = records(1)[0]
    append(path, [], raw=record[:10])
    assert drain(source, 0.1) == []
    append(path, [], raw=record[10:] + b"\n\n\n")  # empty lines are skipped
    assert collect(source, 1) == [record]
    assert drain(source, 0.1) == []


def test_rename_and_create_rotation_loses_nothing(make_source, tmp_path: Path) -> None:
    """logrotate's default: rename, create, then tell Suricata to reopen. Until it
    reopens, Suricata still appends to the renamed file."""
    path = tmp_path / "eve.json"
    path.touch()
    source = make_source(f"tail://{path}", poll_interval=0.02)
    old = path.open("ab")
    old.write(b"".join(r + b"\n" for r in records(10)))
    old.flush()
    assert seqs(collect(source, 10)) == list(range(10))
    os.rename(path, tmp_path / "eve.json.1")
    path.touch()  # logrotate's "create"
    wait_for(lambda: source.read_batch(256, 0.02).lines or source.rotations, what="the rotation")
    old.write(b"".join(r + b"\n" for r in records(5, start=10)))  # before Suricata's reopen
    old.flush()
    old.close()
    append(path, records(5, start=15))  # after the reopen
    lines = collect(source, 10)
    assert sorted(seqs(lines)) == list(range(10, 20))
    assert drain(source, 0.1) == []
    assert source.rotations == 1


def test_rotation_with_the_new_file_created_later(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    append(path, [])
    source = make_source(f"tail://{path}", poll_interval=0.02)
    append(path, records(3))
    assert len(collect(source, 3)) == 3
    os.rename(path, tmp_path / "eve.json.1")
    assert drain(source, 0.1) == []  # no file at the path: wait, keep going
    append(path, records(3, start=3))
    assert seqs(collect(source, 3)) == [3, 4, 5]


def test_copytruncate_restarts_at_zero(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.touch()
    source = make_source(f"tail://{path}", poll_interval=0.02)
    append(path, records(20))
    assert len(collect(source, 20)) == 20
    shutil.copy(path, tmp_path / "eve.json.1")  # logrotate copytruncate
    os.truncate(path, 0)
    wait_for(lambda: source.read_batch(256, 0.02).lines or source.stats.errors["file_truncated"],
             what="the truncation to be noticed")
    append(path, records(3, start=20))
    assert seqs(collect(source, 3)) == [20, 21, 22]
    assert source.stats.errors["file_truncated"] == 1


def test_half_record_at_rotation_is_passed_on_and_counted(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.touch()
    source = make_source(f"tail://{path}", poll_interval=0.02, rotate_grace=0.1)
    append(path, records(2), raw=b'{"half":')
    assert len(collect(source, 2)) == 2
    os.rename(path, tmp_path / "eve.json.1")
    append(path, records(1, start=2))
    lines = collect(source, 2)
    assert b'{"half":' in lines and orjson.loads(lines[lines.index(b'{"half":') - 1])["seq"] == 2
    assert source.stats.errors["partial_line_at_rotation"] == 1


def test_over_long_line_and_garbage_do_not_stop_the_tail(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.touch()
    source = make_source(f"tail://{path}", poll_interval=0.02, max_line_bytes=1024)
    append(path, [b"F" * 50_000, b"\x00\x01\xff binary", *records(1)])
    lines = collect(source, 3)
    assert [len(lines[0]), lines[1], orjson.loads(lines[2])["seq"]] == [1025, b"\x00\x01\xff binary", 0]


def test_close_wakes_an_idle_read(make_source, tmp_path: Path) -> None:
    assert_close_ends_a_blocked_read(make_source(f"tail://{tmp_path}/eve.json", poll_interval=10.0))


def _logrotate(tmp_path: Path, path: Path, directive: str) -> None:
    """Rotate ``path`` with Debian's logrotate (forced, private state file)."""
    binary = shutil.which("logrotate") or ("/usr/sbin/logrotate" if Path("/usr/sbin/logrotate").exists() else None)
    if binary is None:
        pytest.skip("logrotate is not installed (apt-get install logrotate)")
    conf = tmp_path / "logrotate.conf"
    conf.write_text(f"{path} {{\n  rotate 3\n  {directive}\n  missingok\n}}\n")
    subprocess.run([binary, "--force", "--state", str(tmp_path / "logrotate.state"), str(conf)],
                   check=True, capture_output=True)


def test_real_logrotate_create_and_copytruncate(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.touch()
    source = make_source(f"tail://{path}", poll_interval=0.02, rotate_grace=0.2)
    append(path, records(5))
    assert len(collect(source, 5)) == 5
    _logrotate(tmp_path, path, "create 0640")
    assert (tmp_path / "eve.json.1").exists()
    append(path, records(5, start=5))
    assert seqs(collect(source, 5)) == [5, 6, 7, 8, 9]
    _logrotate(tmp_path, path, "copytruncate")
    wait_for(lambda: source.read_batch(256, 0.02).lines or source.stats.errors["file_truncated"],
             what="the truncation to be noticed")
    append(path, records(5, start=10))
    assert seqs(collect(source, 5)) == [10, 11, 12, 13, 14]
    assert drain(source, 0.1) == []
    assert source.rotations == 2
