"""The summary says where every line went: per script in = out + dropped, per input
lines = records + rejected, per output what it accepted, and what a file already held."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, run_mle, summary_rows


def shipped_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    for name in ("inputs", "analyzers", "outputs", "data"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "config.lua", root / "config.lua")
    return root


def flat(text: bytes) -> str:
    return " ".join(text.decode().split())


@pytest.mark.parametrize("workers", ["2", "0"])
def test_the_shipped_sample_reconciles_and_a_second_replay_says_it_appended(tmp_path, workers):
    root = shipped_root(tmp_path)
    out = root / "var/log/eve-mle.json"
    first = run_mle("replay", "-r", str(root), "--workers", workers)
    assert first.returncode == 0, first.stderr.decode()
    rows = summary_rows(first.stderr)
    # the sample's record without an event_type: dropped by the input script (it logs it)
    assert rows["eve"] == {"kind": "input", "in": 2325, "out": 2324, "dropped": 1, "errors": 0, "redis": 0}
    # triage takes alerts and the events with a finding (with_findings), and scores each
    events = map(orjson.loads, out.read_bytes().splitlines())
    triaged = sum("triage" in (e.get("mle") or {}).get("scores", {}) for e in events)
    assert {k: rows["triage"][k] for k in ("in", "out", "dropped")} == {"in": triaged, "out": triaged, "dropped": 0}
    assert 300 < triaged < 2324
    assert f"output eve-mle: 2,324 lines -> {out}" in flat(first.stderr)
    assert "already held" not in flat(first.stderr)
    second = run_mle("replay", "-r", str(root), "--workers", workers)
    assert second.returncode == 0
    assert f"output eve-mle: 2,324 lines -> {out} (appended: the file already held 2,324 lines)" in flat(second.stderr)
    assert len(out.read_bytes().splitlines()) == 4648


CHAIN = """
inputs = {{ {{ tag = "eve", uri = "file://{eve}", script = "f.lua", default_analyzer = "picky" }} }}
analyzers = {{
  {{ tag = "picky", script = "picky.lua", default_analyzer = "last" }},
  {{ tag = "last", script = "last.lua", default_output = "out" }},
}}
outputs = {{ {{ tag = "out", uri = "file://out.json", script = "only_dns.lua" }} }}
"""
FILTER = "function loop(m) if m then dragonfly.analyze_event(default_analyzer, m) end end"
# drops flows, fails on "boom" (the engine passes the event on), sends alerts twice
PICKY = """
function loop(m)
  if m.event_type == "flow" then return end
  if m.boom then error("boom") end
  dragonfly.analyze_event(default_analyzer, m)
  if m.event_type == "alert" then dragonfly.analyze_event(default_analyzer, m) end
end"""
# fails on "bang" with nowhere to pass the event on by itself: the engine passes it to out
LAST = """
function loop(m)
  if m.bang then error("bang") end
  dragonfly.output_event(default_output, m)
end"""
ONLY_DNS = """
function format(e)
  if e.event_type == "tls" then error("cannot format tls") end
  if e.event_type ~= "dns" then return nil end
  return e
end"""


def test_a_chain_with_drops_failures_and_rejections_reconciles(make_root, tmp_path):
    eve = tmp_path / "eve.json"
    lines = ([b'{"event_type":"flow"}'] * 3 + [b'{"event_type":"dns"}'] * 4 + [b'{"event_type":"dns","boom":1}']
             + [b'{"event_type":"alert"}'] * 2 + [b'{"event_type":"tls","bang":1}'] + [b"{not json"] * 2)
    eve.write_bytes(b"\n".join(lines) + b"\n")
    root = make_root(CHAIN.format(eve=eve), inputs={"f.lua": FILTER},
                     analyzers={"picky.lua": PICKY, "last.lua": LAST}, outputs={"only_dns.lua": ONLY_DNS})
    result = run_mle("replay", "-r", str(root), "--workers", "0")
    assert result.returncode == 0, result.stderr.decode()
    rows = summary_rows(result.stderr)
    # 13 lines: 2 rejected (the input script gets nil and drops them), 11 records
    assert (rows["eve"]["in"], rows["eve"]["out"], rows["eve"]["dropped"]) == (13, 11, 2)
    # 3 flows dropped; boom failed and was passed on; the 2 alerts went on twice each
    assert (rows["picky"]["in"], rows["picky"]["out"], rows["picky"]["dropped"], rows["picky"]["errors"]) \
        == (11, 10, 3, 1)
    # bang failed and was passed on to the output by the engine
    assert (rows["last"]["in"], rows["last"]["out"], rows["last"]["dropped"], rows["last"]["errors"]) \
        == (10, 10, 0, 1)
    # the output script: 5 dns documents, 4 alerts skipped (nil), the tls one failed (dead-lettered)
    assert (rows["out"]["in"], rows["out"]["out"], rows["out"]["dropped"], rows["out"]["errors"]) == (10, 5, 4, 1)
    summary = flat(result.stderr)
    assert "input eve: 13 lines, 2 rejected (not_json: 2)" in summary
    assert "output out: 5 lines ->" in summary
    assert "3 dead letters" in summary  # 2 rejected lines + the document the output script failed on
    assert len((root / "var/log/out.json").read_bytes().splitlines()) == 5
