"""How an expected pattern matches an event, and how two lists line up."""

from __future__ import annotations

import pytest

from mle.tooling.patterns import Pairing, differences, line_up, matches


@pytest.mark.parametrize(("pattern", "event"), [
    ({"mle": {"scores": {"a": 0.5}}}, {"mle": {"scores": {"a": 0.5, "b": 1}, "priority": 1}, "x": 2}),
    ({"score": 0.3333333333333333}, {"score": 0.33333334}),  # within 1e-6 relative
    ({"n": 3}, {"n": 3.0000001}),
    ({"findings": [{"reason": "r"}]}, {"findings": [{"reason": "r", "score": 1}]}),
    ({"v": None}, {"v": None}),
    ({}, {"anything": 1}),
])
def test_a_pattern_matches_when_every_key_it_names_matches(pattern, event):
    assert matches(pattern, event)


@pytest.mark.parametrize(("pattern", "event", "path"), [
    ({"score": 0.5}, {"score": 0.5001}, "score"),
    ({"flow_id": 1778159332693385}, {"flow_id": 1778159332693386}, "flow_id"),  # integers exactly
    ({"s": "a.example"}, {"s": "A.example"}, "s"),
    ({"b": True}, {"b": 1}, "b"),  # a boolean is not a number
    ({"findings": [{}]}, {"findings": [{}, {}]}, "findings"),  # lists of equal length only
    ({"findings": [{"reason": "x"}]}, {"findings": [{"reason": "y"}]}, "findings[0].reason"),
    ({"mle": {"scores": {"a": 1}}}, {"mle": {"scores": {}}}, "mle.scores.a"),
    ({"dns": {"rrname": "x"}}, {"dns": "x"}, "dns"),
])
def test_a_pattern_names_the_key_that_differs(pattern, event, path):
    assert [d.path for d in differences(pattern, event)] == [path]


def test_a_missing_key_is_reported_as_missing():
    (difference,) = differences({"mle": {"findings": []}}, {"mle": {}})
    assert difference.path == "mle.findings" and difference.missing


def test_one_missing_event_shows_as_one_missing_not_every_later_one_differing():
    patterns = [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    events = [{"n": 1}, {"n": 3}, {"n": 4}, {"n": 5}]
    assert line_up(patterns, events) == [
        Pairing(0, 0, True), Pairing(1, None, False), Pairing(2, 1, True), Pairing(3, 2, True),
        Pairing(None, 3, False),
    ]


def test_leftovers_pair_with_the_event_they_are_about():
    patterns = [{"id": 1, "v": "a"}, {"id": 3, "v": "x"}]
    events = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c"}]
    same_id = lambda p, e: p["id"] == e["id"]  # noqa: E731
    assert line_up(patterns, events, same_event=same_id) == [
        Pairing(0, 0, True), Pairing(1, 2, False), Pairing(None, 1, False),
    ]
