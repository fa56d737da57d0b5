"""Golden cases (mle.tooling.golden): what a case runs, what it checks, how it reports."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from mle.config import load_config
from mle.root import Root
from mle.tooling.golden import check_case, discover, update_case
from mle.tooling.report import describe

CONFIG = """
inputs = { { tag = "eve", uri = "file://unused.json", script = "route.lua" } }
outputs = { { tag = "out", uri = "file://out.json" }, { tag = "copy", uri = "file://copy.json" } }
"""
ROUTE = "function loop(msg) mle.route(msg) end"
# "base" scores every dns event by the length of its name and reports long names;
# "triage" (runs later) combines base's score with its own, so its score needs base.
BASE = """
analyzer = { event_types = { "dns" }, order = 10 }
local cfg = mle.settings{ long = 10 }
function loop(msg)
  local name = msg.dns.rrname
  if #name >= cfg.long then mle.finding(msg, 0.9, name .. " is long")
  else mle.score(msg, #name / 100) end
end
"""
TRIAGE = """
analyzer = { event_types = "*", order = 90 }
function loop(msg)
  local base = msg.mle and msg.mle.scores and msg.mle.scores.base
  if base then mle.finding(msg, base / 2, "half of base") end
end
"""
BROKEN = """
analyzer = { event_types = { "dns" } }
function loop(msg)
  if msg.dns.rrname == "bad.example" then error("cannot score " .. msg.dns.rrname) end
  mle.score(msg, 0.25)
end
"""
EVENTS = [
    {"timestamp": "2025-01-01T00:00:00Z", "flow_id": 1, "event_type": "dns", "dns": {"rrname": "a.example"}},
    {"timestamp": "2025-01-01T00:00:01Z", "flow_id": 2, "event_type": "flow", "flow": {"bytes_toserver": 10}},
    {"timestamp": "2025-01-01T00:00:02Z", "flow_id": 3, "event_type": "dns", "dns": {"rrname": "bad.example"}},
]


def lines(*values: object) -> str:
    return "".join(orjson.dumps(v).decode() + "\n" for v in values)


def expect_triage(score_a: float = 0.045, score_bad: float = 0.45) -> str:
    return lines(
        {"flow_id": 1, "mle": {"scores": {"triage": score_a},
                               "findings": [{"analyzer": "triage", "score": score_a, "reason": "half of base"}]}},
        {"flow_id": 3, "mle": {"scores": {"triage": score_bad},
                               "findings": [{"analyzer": "triage", "score": score_bad, "reason": "half of base"}]}},
    )


@pytest.fixture
def golden_root(make_root):
    def make(cases: dict[str, str], analyzers: dict[str, str] | None = None) -> Path:
        files = {f"analyzers/tests/{path}": text for path, text in cases.items()}
        return make_root(CONFIG, inputs={"route.lua": ROUTE},
                         analyzers=analyzers or {"base.lua": BASE, "triage.lua": TRIAGE}, files=files)
    return make


def outcome_of(root: Path, tag: str):
    config = load_config(Root.locate(root))
    (case,) = discover(config.root, [tag])
    return check_case(case, config)


def test_a_case_runs_every_analyzer_of_the_root_so_a_combining_score_is_right(golden_root):
    root = golden_root({"triage/two/input.json": lines(*EVENTS), "triage/two/expected.json": expect_triage()})
    outcome = outcome_of(root, "triage")
    assert outcome.passed, describe(outcome)
    # base's findings are on the same events and do not count against triage's case
    assert [len(e["mle"]["findings"]) for e in outcome.produced] == [1, 2]


def test_a_wrong_score_fails_naming_the_key_the_expected_and_the_produced_value(golden_root):
    root = golden_root({"triage/two/input.json": lines(*EVENTS),
                        "triage/two/expected.json": expect_triage(score_bad=0.5)})
    outcome = outcome_of(root, "triage")
    assert not outcome.passed
    text = "\n".join(describe(outcome))
    assert "expected #2 differs from produced #2 (dns, flow_id 3" in text
    assert "mle.scores.triage: expected 0.5, got 0.45" in text
    assert "mle.findings[0].score: expected 0.5, got 0.45" in text
    assert "1 of 2 expected events matched" in text


def test_events_compare_by_time_and_flow_not_by_the_order_they_left(golden_root):
    # events of different shards leave the engine in the order they finish: a case lines
    # both sides up by timestamp and flow_id, so the order of expected.json does not matter
    swapped = "".join(reversed(expect_triage().splitlines(keepends=True)))
    root = golden_root({"triage/two/input.json": lines(*EVENTS), "triage/two/expected.json": swapped})
    assert outcome_of(root, "triage").passed


def test_a_missing_and_an_unexpected_event_are_named(golden_root):
    expected = lines({"flow_id": 3, "mle": {"scores": {"triage": 0.45}}}, {"flow_id": 9, "mle": {}})
    root = golden_root({"triage/c/input.json": lines(*EVENTS), "triage/c/expected.json": expected})
    text = "\n".join(describe(outcome_of(root, "triage")))
    assert "produced #1 (dns, flow_id 1, timestamp 2025-01-01T00:00:00Z) is not in expected.json" in text
    assert 'expected #2 was not produced (no event annotated by triage matches it): {"flow_id":9' in text


def test_a_pattern_checks_whatever_else_it_names(golden_root):
    expected = lines({"flow_id": 1, "dns": {"rrname": "other.example"}},
                     {"flow_id": 3, "mle": {"scores": {"base": 0.9, "triage": 0.45}}})
    root = golden_root({"triage/c/input.json": lines(*EVENTS), "triage/c/expected.json": expected})
    outcome = outcome_of(root, "triage")
    text = "\n".join(describe(outcome))
    assert 'dns.rrname: expected "other.example", got "a.example"' in text
    assert [p.matched for p in outcome.pairs] == [False, True]  # base's score, named, is checked and right


def test_the_case_config_sets_analyzer_settings_and_engine_settings(golden_root):
    # with long = 5, base reports a.example (9 characters) too: triage's score is then 0.45 on both
    config = ('analyzers = { { tag = "base", script = "base.lua", settings = { long = 5 } } }\n'
              "mle = { round_size = 1 }\n")
    root = golden_root({"triage/long/input.json": lines(*EVENTS), "triage/long/config.lua": config,
                        "triage/long/expected.json": expect_triage(score_a=0.45)})
    outcome = outcome_of(root, "triage")
    assert outcome.passed, describe(outcome)


@pytest.mark.parametrize(("config", "problem"), [
    ('outputs = { { tag = "x", uri = "stdout://" } }', '"outputs" is not a setting a golden case may give'),
    ('analyzers = { { tag = "base", script = "base.lua", settings = { lng = 5 } } }', '"lng" is not a setting of base'),
    ("mle = { batch_sise = 5 }", 'unknown key "batch_sise"'),
])
def test_a_bad_case_config_is_an_error_naming_the_problem(golden_root, config, problem):
    root = golden_root({"triage/c/input.json": lines(*EVENTS), "triage/c/config.lua": config,
                        "triage/c/expected.json": expect_triage()})
    outcome = outcome_of(root, "triage")
    assert not outcome.passed and problem in outcome.error


def test_an_analyzer_that_fails_on_an_event_shows_its_error(golden_root):
    expected = lines({"flow_id": 1, "mle": {"scores": {"broken": 0.25}}},
                     {"flow_id": 3, "mle": {"scores": {"broken": 0.25}}})
    root = golden_root({"broken/c/input.json": lines(*EVENTS), "broken/c/expected.json": expected},
                       analyzers={"broken.lua": BROKEN})
    text = "\n".join(describe(outcome_of(root, "broken")))
    assert 'mle.scores: expected {"broken":0.25}, missing' in text
    assert "broken failed on this event (loop): analyzers/broken.lua:3: cannot score bad.example" in text


def test_update_writes_what_the_engine_produced_and_the_case_then_passes(golden_root):
    root = golden_root({"triage/c/input.json.gz": "", "triage/c/expected.json": "{}\n"})
    (root / "analyzers/tests/triage/c/input.json.gz").write_bytes(gzip.compress(lines(*EVENTS).encode()))
    config = load_config(Root.locate(root))
    (case,) = discover(config.root, ["triage"])
    assert not check_case(case, config).passed
    assert update_case(case, config).error is None
    written = [orjson.loads(line) for line in case.expected.read_bytes().splitlines()]
    assert written == [
        {"timestamp": "2025-01-01T00:00:00Z", "flow_id": 1, "event_type": "dns",
         "mle": {"scores": {"triage": 0.045},
                 "findings": [{"analyzer": "triage", "score": 0.045, "reason": "half of base"}]}},
        {"timestamp": "2025-01-01T00:00:02Z", "flow_id": 3, "event_type": "dns",
         "mle": {"scores": {"triage": 0.45},
                 "findings": [{"analyzer": "triage", "score": 0.45, "reason": "half of base"}]}},
    ]
    assert check_case(case, config).passed


@pytest.mark.parametrize(("files", "problem"), [
    ({"triage/c/input.json": lines(*EVENTS)}, "expected.json does not exist: `mle test triage --update` writes it"),
    ({"triage/c/expected.json": "{}\n"}, "no input.json (or input.json.gz)"),
    ({"triage/c/input.json": lines(*EVENTS), "triage/c/expected.json": "{}\n[1]\n"},
     "expected.json:2: a pattern must be a JSON object"),
    ({"nosuch/c/input.json": lines(*EVENTS), "nosuch/c/expected.json": "{}\n"}, 'no analyzer "nosuch"'),
])
def test_a_case_that_cannot_run_says_why(golden_root, files, problem):
    root = golden_root(files)
    tag = next(iter(files)).split("/")[0]
    outcome = outcome_of(root, tag)
    assert not outcome.passed and problem in outcome.error
