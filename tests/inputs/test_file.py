"""``file://``: read once (``mle replay``) or stay open for appended lines (``mle run``); gzip too."""

from __future__ import annotations

import gzip
from pathlib import Path

from input_peers import collect, drain, records

from mle.connectors import Context, build_source


def test_gzip_is_read_transparently_and_replay_ends(tmp_path: Path, sample_records: list[bytes]) -> None:
    path = tmp_path / "eve.json.gz"
    path.write_bytes(gzip.compress(b"\n".join(sample_records) + b"\n"))
    context = Context(root=tmp_path, run_dir=tmp_path, log_dir=tmp_path, replay=True)
    source = build_source("eve", "file://eve.json.gz", {}, "inputs[1]", context)
    source.open()
    lines = []
    while (batch := source.read_batch(256, 0.0)) is not None:
        lines.extend(batch.lines)
    assert lines == sample_records
    source.close()


def test_run_mode_stays_open_for_appended_lines(make_source, tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(b"".join(r + b"\n" for r in records(3)))
    source = make_source(f"file://{path}", poll_interval=0.02)
    assert len(collect(source, 3)) == 3
    assert drain(source, 0.1) == []
    with path.open("ab") as f:
        f.write(records(1, start=3)[0] + b"\n")
    assert len(collect(source, 1)) == 1
