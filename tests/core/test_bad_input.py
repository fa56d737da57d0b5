"""Every kind of bad line is counted, dead-lettered with its reason, and costs nothing else."""

from __future__ import annotations

import base64
import gzip

import orjson

from tests.conftest import run_mle

CONFIG = """
inputs = { { tag = "eve", uri = "file://eve.json", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
mle = { max_line_bytes = 4096 }
"""
# the input script sees nil for an invalid line (as in Dragonfly) and counts them
FILTER = """
function loop(msg)
  if msg == nil then dragonfly.log_event("nil record") return end
  dragonfly.analyze_event(default_analyzer, msg)
end"""
ANALYZER = "function loop(msg) dragonfly.output_event(default_output, msg) end"

BAD = {
    "not_json": b'{"event_type":"dns","dns":{"rrname":"truncated',
    "not_object": b'["an","array"]',
    "not_utf8": b'{"event_type":"dns","x":"\xff\xfe"}',
    "too_large": b'{"event_type":"flow","pad":"' + b"x" * 5000 + b'"}',
}


def good(i: int) -> bytes:
    return b'{"event_type":"flow","i":%d}' % i


def test_each_bad_line_is_counted_and_dead_lettered(make_root, harness):
    h = harness(make_root(CONFIG, inputs={"f.lua": FILTER}, analyzers={"a.lua": ANALYZER}))
    lines = [good(0)]
    for i, bad in enumerate(BAD.values(), 1):
        lines += [bad, good(i)]
    lines += [b"", b"   "]  # blank lines are not records
    h.push(lines)

    assert [e["i"] for e in h.events("out")] == [0, 1, 2, 3, 4]
    assert dict(h.worker.rejected) == {("eve", reason): 1 for reason in BAD}
    assert h.worker.blank_lines == 2
    assert h.events("log") == ["nil record"] * 4  # the input script saw nil for each

    dead = {entry["reason"]: entry for entry in h.dead()}
    assert set(dead) == set(BAD)
    assert dead["not_json"]["line"] == BAD["not_json"].decode()
    assert "unexpected end of data" in dead["not_json"]["detail"]
    assert dead["not_object"]["detail"] == "a JSON list"
    assert base64.b64decode(dead["not_utf8"]["line_base64"]) == BAD["not_utf8"]
    assert dead["too_large"]["bytes"] == len(BAD["too_large"])
    assert all(entry["source"] == "input eve" for entry in dead.values())


def test_replay_reports_and_keeps_going(make_root, tmp_path):
    root = make_root(CONFIG, inputs={"f.lua": FILTER}, analyzers={"a.lua": ANALYZER})
    eve = tmp_path / "eve.json.gz"
    lines = [good(0), BAD["not_json"], good(1), b"\x00\x01binary garbage\xff", good(2), b"x" * 60000, good(3)]
    # the last record has no newline: a truncated file still yields it
    eve.write_bytes(gzip.compress(b"\n".join(lines)))
    result = run_mle("replay", str(eve), "-r", str(root), "--no-progress")
    assert result.returncode == 0, result.stderr.decode()
    out = [orjson.loads(line) for line in (root / "var/log/out.json").read_bytes().splitlines()]
    assert sorted(e["i"] for e in out) == [0, 1, 2, 3]  # worker processes may finish in any order
    summary = result.stderr.decode()
    assert "3 rejected (not_json: 1, not_utf8: 1, too_large: 1)" in summary
    assert "3 dead letters" in summary
    dead = {d["reason"]: d for d in
            (orjson.loads(line) for line in (root / "var/log/dead-letter.jsonl").read_bytes().splitlines())}
    assert sorted(dead) == ["not_json", "not_utf8", "too_large"]
    # an oversize line is kept up to the limit (+1 byte), with its size noted
    assert dead["too_large"]["bytes"] == 4097
