"""``stdin://``: lines from standard input until end of file (run in a child process,
since pytest owns this process's standard input)."""

from __future__ import annotations

import subprocess
import sys
import time

import orjson
from input_peers import records

READER = """
import sys, time, orjson
from pathlib import Path
from mle.connectors import Context, build_source
max_line = int(sys.argv[1])
here = Path(".")
source = build_source("eve", "stdin://", {"max_line_bytes": max_line}, "inputs[1]", Context(here, here, here))
source.open()
lines = []
while (batch := source.read_batch(100, 0.05)) is not None:
    lines.extend(batch.lines)
    if len(batch.lines) > 100:
        sys.exit("batch too big")
source.close()
sys.stdout.buffer.write(orjson.dumps({"lines": [l.decode("latin-1") for l in lines],
                                      "stats": [source.stats.lines, source.stats.bytes]}))
"""


def run_reader(max_line: int = 1 << 20) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", READER, str(max_line)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_reads_until_eof_across_partial_writes() -> None:
    proc = run_reader()
    assert proc.stdin is not None
    data = b"".join(r + b"\n" for r in records(500))
    for start in range(0, len(data), 777):  # writes that cut records anywhere
        proc.stdin.write(data[start:start + 777])
        proc.stdin.flush()
    proc.stdin.write(records(1, start=500)[0])  # a last line without newline is normal at EOF
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    result = orjson.loads(out)
    assert [orjson.loads(x)["seq"] for x in result["lines"]] == list(range(501))
    assert result["stats"] == [501, len(data) + len(records(1, start=500)[0])]


def test_garbage_and_over_long_lines_do_not_stop_it() -> None:
    proc = run_reader(1024)
    out, err = proc.communicate(b"\xff\xfe\x00 junk\n" + b"I" * 50_000 + b"\n" + records(1)[0] + b"\n", timeout=20)
    assert proc.returncode == 0, err.decode()
    lines = orjson.loads(out)["lines"]
    assert lines[0] == "\xff\xfe\x00 junk" and lines[1] == "I" * 1025 and orjson.loads(lines[2])["seq"] == 0


def test_regular_file_as_stdin(tmp_path) -> None:
    path = tmp_path / "eve.json"
    path.write_bytes(b"".join(r + b"\n" for r in records(300)))
    with path.open("rb") as f:
        proc = subprocess.run([sys.executable, "-c", READER, "1048576"], stdin=f, capture_output=True, timeout=20)
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(orjson.loads(proc.stdout)["lines"]) == 300


def test_idle_pipe_does_not_end_the_input() -> None:
    proc = run_reader()
    time.sleep(0.3)
    assert proc.poll() is None  # nothing on stdin yet, but no EOF: still reading
    out, _ = proc.communicate(records(1)[0] + b"\n", timeout=20)
    assert len(orjson.loads(out)["lines"]) == 1
