"""Numbers and untouched fields leave the engine exactly as they came in."""

from __future__ import annotations

import gzip

import orjson
import pytest

from tests.conftest import DATA

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""
FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"

# a flow_id above 2^53 (a double cannot hold it), odd-but-valid JSON text in nested fields
LINE = (
    b'{"timestamp":"2019-04-22T13:45:09.000759+0000","flow_id":1351273314654466123,'
    b'"event_type":"flow","flow":{"bytes":18446744073709551615,"ratio":1.50,"big":1e5,'
    b'"neg":-0.0},"payload_printable":"caf\\u00e9 \\/ \\"quoted\\" \\t","list":[1 , 2,3],'
    b'"max":9223372036854775807,"min":-9223372036854775808}'
)


@pytest.fixture
def pipe(make_root, harness):
    def make(analyzer: str, runtime: str = "lua54"):
        root = make_root(CONFIG, inputs={"f.lua": FORWARD}, analyzers={"a.lua": analyzer})
        return harness(root, runtime=runtime)

    return make


@pytest.mark.parametrize("runtime", ["lua54", "luajit"])
def test_untouched_event_is_byte_for_byte(pipe, runtime):
    h = pipe("function loop(msg) local id = msg.flow_id dragonfly.output_event(default_output, msg) end", runtime)
    h.push([LINE])
    assert h.outputs["out"] == [LINE]


@pytest.mark.parametrize("runtime", ["lua54", "luajit"])
def test_annotation_keeps_the_original_bytes(pipe, runtime):
    h = pipe("function loop(msg) mle.score(msg, 0.25) dragonfly.output_event(default_output, msg) end", runtime)
    h.push([LINE])
    out = h.outputs["out"][0]
    assert out.startswith(LINE[:-1] + b',"mle":')
    assert orjson.loads(out)["mle"] == {"scores": {"a": 0.25}}


def test_a_changed_event_keeps_every_value_exact(pipe):
    h = pipe("""
        function loop(msg)
          msg.event_type = "flow-seen"                 -- changes an existing field
          msg.copy = { id = msg.flow_id, max = msg.max, min = msg.min }
          msg.flow.pkts = 3                             -- and a nested one
          dragonfly.output_event(default_output, msg)
        end""")
    h.push([LINE])
    out = orjson.loads(h.outputs["out"][0])
    original = orjson.loads(LINE)
    assert out["flow_id"] == 1351273314654466123 == out["copy"]["id"]
    assert out["copy"]["max"] == 2**63 - 1 and out["copy"]["min"] == -(2**63)
    assert out["flow"]["bytes"] == 18446744073709551615
    assert out["payload_printable"] == original["payload_printable"]
    assert out["event_type"] == "flow-seen" and out["flow"]["pkts"] == 3


def test_numbers_computed_in_lua(pipe):
    h = pipe("""
        function loop(msg)
          msg.integral = 6 / 2          -- a float in Lua 5.4, written as 3 (as Dragonfly did)
          msg.fraction = 1 / 3
          msg.nan = 0 / 0               -- JSON has no NaN: null
          msg.inf = 1 / 0
          msg.int64 = math.maxinteger
          dragonfly.output_event(default_output, msg)
        end""")
    h.push([b'{"a":1}'])
    out = h.outputs["out"][0]
    assert b'"integral":3,' in out
    assert orjson.loads(out) == {
        "a": 1, "integral": 3, "fraction": 1 / 3, "nan": None, "inf": None, "int64": 2**63 - 1,
    }


def test_every_record_of_the_wide_sample_passes_through_unchanged(pipe):
    lines = gzip.decompress((DATA / "verify-sample.eve.json.gz").read_bytes()).splitlines()
    h = pipe("function loop(msg) dragonfly.output_event(default_output, msg) end")
    for i in range(0, len(lines), 256):
        h.push(lines[i : i + 256])
    assert h.outputs["out"] == lines
