"""mle.eve.epoch against Python's datetime on Suricata's timestamp layout (zones east and
west, fractions, month and leap-year edges) and on layouts that fall back to whole seconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

SURICATA = ["2021-06-06T15:59:46.457984+0200", "2022-02-23T19:22:24.405139+0100",
            "2024-02-29T23:59:59.999999-0530", "2000-01-01T00:00:00.000000+0000",
            "1970-01-01T00:00:00.000001+0000", "2026-12-31T23:59:00.500000-1000",
            "2021-06-06T15:59:47.000000+0200"]


def expected(ts: str) -> float:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_epoch_agrees_with_datetime(lua: Callable[..., Any], runtime: str) -> None:
    got = lua("""
        local eve = require "mle.eve"
        local out = {}
        for i, ts in ipairs(data) do out[i] = eve.epoch(ts) end
        return out
    """, SURICATA, runtime=runtime)
    assert got == [pytest.approx(expected(ts), abs=1e-6) for ts in SURICATA]


def test_other_layouts_fall_back_and_non_timestamps_give_nil(lua: Callable[..., Any]) -> None:
    got = lua("""
        local eve = require "mle.eve"
        return { zulu = eve.epoch("2021-06-06T15:59:46Z"), colon = eve.epoch("2021-06-06 15:59:46+02:00"),
                 text = eve.epoch("not a time") == nil, number = eve.epoch(42) == nil }
    """)
    assert got == {"zulu": expected("2021-06-06T15:59:46.000000+0000"),
                   "colon": expected("2021-06-06T15:59:46.000000+0200"), "text": True, "number": True}
