"""The dga and dns-tunnel analyzers and mle.domain beyond their golden cases: the
Lua scoring equals the Python features the model was trained on, analyst feedback
moves the dga score, and domain.split agrees with evaluation/dnsfeatures.py."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest

from mle.redis.functions import load_functions
from mle.redis.pipe import encode_command

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "evaluation"))

from dnsfeatures import LEXICAL, lexical, ngram_buckets, split  # noqa: E402

CONFIG = """
mle = { shard_key = "src_ip" }
inputs = { { tag = "eve", uri = "file://x", script = "suricata-filter.lua" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""

NAMES = [
    "xjwqkzpl.biz", "www.google.com", "1sbh3891b5qfxt3dszss1grf20g.biz", "api-global.netflix.com",
    "kwwouflbjf.org", "mail.example.co.uk", "tocivilizedatthecoasts.com", "obextokaluxe.ddns.net",
    "a.b.c.d.e.f.example.com.", "WWW.Example.COM", "x.y.ck", "a.www.ck", "foo.city.kawasaki.jp",
]


def root_with(tmp_path: Path, analyzers: list[str]) -> Path:
    """A root with the repository's input script, the named analyzers and their data."""
    root = tmp_path / "root"
    (root / "inputs").mkdir(parents=True)
    (root / "analyzers").mkdir()
    shutil.copy(REPO / "inputs" / "suricata-filter.lua", root / "inputs")
    for tag in analyzers:
        shutil.copy(REPO / "analyzers" / f"{tag}.lua", root / "analyzers")
    shutil.copytree(REPO / "analyzers" / "data", root / "analyzers" / "data")
    (root / "config.lua").write_text(CONFIG)
    return root


def query(i: int, name: str, layout: int = 2) -> str:
    """A DNS query record in the Suricata 7 (2) or 8 (3) layout."""
    if layout == 2:
        dns = {"type": "query", "id": i, "rrname": name, "rrtype": "A", "tx_id": 0}
    else:
        dns = {"version": 3, "type": "request", "id": i, "queries": [{"rrname": name, "rrtype": "A"}]}
    return json.dumps({"flow_id": 5000 + i, "event_type": "dns", "src_ip": f"10.9.0.{i % 250}",
                       "dest_ip": "10.0.0.1", "dns": dns})


def python_score(name: str) -> float:
    """The exported model's probability, from the Python features."""
    doc = json.loads((REPO / "analyzers" / "data" / "dga-model.json").read_text())
    coef, z = doc["coef"][0], doc["intercept"][0]
    label = split(name)[1]
    assert label is not None
    lx = lexical(label)
    z += sum(coef[i] * lx[k] for i, k in enumerate(LEXICAL))
    z += sum(coef[len(LEXICAL) + b] * v for b, v in ngram_buckets(label, len(coef) - len(LEXICAL)).items())
    return 1 / (1 + math.exp(-z))


@pytest.mark.parametrize("layout", [2, 3])
def test_dga_scores_equal_the_trained_model_in_both_layouts(tmp_path, harness, layout):
    h = harness(root_with(tmp_path, ["dga"]))
    names = [n for n in NAMES if len(split(n)[1] or "") >= 6]
    h.push([query(i, n, layout) for i, n in enumerate(names)])
    got = {e["flow_id"]: e["mle"]["scores"]["dga"] for e in h.events("out")}
    for i, name in enumerate(names):
        assert got[5000 + i] == pytest.approx(python_score(name), rel=1e-9), name


def test_short_labels_score_zero_and_events_without_names_pass(tmp_path, harness):
    h = harness(root_with(tmp_path, ["dga", "dns-tunnel"]))
    h.push([query(1, "www.ab.com"), json.dumps({"flow_id": 7, "event_type": "dns", "dns": {"type": "answer"}})])
    events = {e["flow_id"]: e for e in h.events("out")}
    assert events[5001]["mle"]["scores"]["dga"] == 0
    assert "mle" not in events[7]


def test_analyst_verdicts_correct_the_dga_score(tmp_path, harness, redis_pipe):
    assert load_functions(redis_pipe) == []  # as the engine does at start
    redis_pipe.execute(encode_command("DEL", "mle:dga:{online}"), 1)  # no verdicts of an earlier test
    h = harness(root_with(tmp_path, ["dga"]))
    name = "kwwouflbjf.org"
    event = json.loads(query(1, name))
    h.push([json.dumps(event)])
    before = h.events("out")[-1]["mle"]
    assert before["scores"]["dga"] > 0.9 and before["findings"]
    for _ in range(2):
        taken, _ = h.worker.feedback({"verdict": "benign", "event": event})
        assert taken == 1
    h.push([json.dumps(event)])
    after = h.events("out")[-1]["mle"]
    assert after["scores"]["dga"] < 0.5
    assert "findings" not in after
    # another name keeps (about) its offline score
    h.push([query(2, "xjwqkzpl.biz")])
    assert h.events("out")[-1]["mle"]["scores"]["dga"] > 0.9


@pytest.mark.parametrize("name", [*NAMES, "co.uk", "com", "localhost", "1.0.168.192.in-addr.arpa",
                                  "dnscat.531901f5000dbbde4f403c0013e31bf178"])
def test_domain_split_agrees_with_python(tmp_path, harness, name):
    root = root_with(tmp_path, [])
    (root / "analyzers" / "probe.lua").write_text("""
analyzer = { event_types = { "dns" } }
local domain = require "mle.domain"
function loop(msg)
  local r, l, s, sub = domain.split(msg.dns.rrname)
  mle.finding(msg, 0, table.concat({ tostring(r), tostring(l), tostring(s), tostring(sub) }, "|"))
end
""")
    h = harness(root)
    h.push([query(1, name)])
    got = h.events("out")[-1]["mle"]["findings"][0]["reason"]
    assert got == "|".join("nil" if v is None else v for v in split(name))
