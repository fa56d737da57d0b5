"""An input that cannot be read to its end: the readable records come out, the error
is named in one line, the summary counts it and the exit status is non-zero;
``mle check`` names a configured input file that is missing."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, run_mle

SAMPLE = REPO / "data/eve/sample.eve.json.gz"

CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://{eve}", script = "f.lua", default_analyzer = "a" }} }}
analyzers = {{ {{ tag = "a", script = "a.lua", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "file://out.json" }} }}
"""
FORWARD = "function loop(m) if m then dragonfly.analyze_event(default_analyzer, m) end end"
OUTPUT = "function loop(m) dragonfly.output_event(default_output, m) end"


def root_for(make_root, eve: str) -> Path:
    return make_root(CONFIG.format(eve=eve), inputs={"f.lua": FORWARD}, analyzers={"a.lua": OUTPUT})


def complete_lines_before_the_cut(data: bytes) -> list[bytes]:
    """The whole lines a gzip stream cut short still holds (decoded independently of MLE)."""
    text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    return text[: text.rfind(b"\n")].split(b"\n")


def flat(text: str) -> str:
    """``text`` with every run of whitespace as one space (the summary wraps long lines)."""
    return " ".join(text.split())


def written(root: Path) -> list[bytes]:
    path = root / "var/log/out.json"
    return path.read_bytes().splitlines() if path.exists() else []


@pytest.mark.parametrize("workers", ["2", "0"])
def test_a_gzip_file_cut_short_gives_its_records_and_fails_the_replay(make_root, tmp_path, workers):
    data = SAMPLE.read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[: len(data) // 2])  # a copy interrupted mid-stream
    readable = complete_lines_before_the_cut(cut.read_bytes())
    assert 1000 < len(readable) < 2325
    root = root_for(make_root, str(cut))
    result = run_mle("replay", "-r", str(root), "--workers", workers)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "Traceback" not in err and "Aborted" not in err
    assert sorted(written(root)) == sorted(readable)  # every readable record, as it was
    message = (f'replay (input "eve"): {cut}: the gzip data ends before its end-of-stream marker (the file is '
               f"cut short); the {len(readable):,} complete lines before the damage were read")
    assert f"input eve stopped: {message}" in err  # the log, one line
    assert f"input failed: {message}" in flat(err)  # the summary
    # the incomplete last line was read too: dead-lettered, counted in the summary
    assert f"input  eve: {len(readable) + 1:,} lines, 1 rejected (not_json: 1)" in err
    dead = [orjson.loads(line) for line in (root / "var/log/dead-letter.jsonl").read_bytes().splitlines()]
    assert [d["reason"] for d in dead] == ["not_json"]


def test_corrupt_gzip_data_gives_the_records_before_it(make_root, tmp_path):
    data = bytearray(SAMPLE.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # a damaged block
    corrupt = tmp_path / "corrupt.json.gz"
    corrupt.write_bytes(bytes(data))
    readable = complete_lines_before_the_cut(bytes(data[:middle]))  # what precedes the damage, at least
    root = root_for(make_root, str(corrupt))
    result = run_mle("replay", "-r", str(root), "--workers", "0")
    assert result.returncode == 1, result.stderr.decode()
    assert "the gzip data is corrupt" in result.stderr.decode()
    out = written(root)
    assert out[: len(readable)] == readable


def test_several_gzip_members_and_padding_read_as_one_file(make_root, tmp_path):
    lines = gzip.decompress(SAMPLE.read_bytes()).splitlines()
    joined = tmp_path / "joined.json.gz"
    joined.write_bytes(gzip.compress(b"\n".join(lines[:1000]) + b"\n") + bytes(16)
                       + gzip.compress(b"\n".join(lines[1000:]) + b"\n"))
    root = root_for(make_root, str(joined))
    result = run_mle("replay", "-r", str(root), "--workers", "0")
    assert result.returncode == 0, result.stderr.decode()
    assert written(root) == [line for line in lines if b'"event_type"' in line or line.startswith(b"{")]


def test_a_missing_input_file_is_named_by_check_and_fails_the_replay(make_root, tmp_path):
    missing = tmp_path / "missing.json"
    root = root_for(make_root, str(missing))
    check = run_mle("check", "-r", str(root))
    assert check.returncode == 1
    assert f'inputs[1] (tag "eve"): cannot open {missing}: No such file or directory' in flat(check.stderr.decode())
    for workers in ("2", "0"):
        result = run_mle("replay", "-r", str(root), "--workers", workers)
        err = result.stderr.decode()
        assert result.returncode == 1, err
        assert "Traceback" not in err
        assert f"input eve stopped: replay (input \"eve\"): cannot open {missing}: No such file or directory" in err
        assert "input  eve: 0 lines" in err
