"""mle.drift against River: ADWIN and Page-Hinkley detect drift at the same indices
as River's drift.ADWIN and drift.PageHinkley on the same streams, and ADWIN's window
(width, mean) agrees at every step to 1e-9. (On the real flows ADWIN finds no drift,
in River as here; its window is compared at every step all the same.)"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from river import drift as river_drift

from tests.library import streams


def river_example() -> list[float]:
    """The stream of River's docstring examples (0/1, then 4-7 from index 1000)."""
    rng = random.Random(12345)
    return [float(v) for v in rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)]


def shifts() -> list[float]:
    """Normal values whose mean moves every 1,000 values, small moves and large."""
    rng = np.random.default_rng(7)
    return np.concatenate([rng.normal(m, 1, 1000) for m in (0, 2, 2.5, -1, -1, 5, 4.8)]).tolist()


def real() -> list[float]:
    """log(bytes to the server) of 24 h of real flows."""
    return [math.log(x) for x in streams.bytes_toserver()]


STREAMS = {"river example": river_example, "shifts": shifts, "real flows": real}


def detections(lua, runtime: str, make: str, xs: list[float]) -> dict:
    return lua(f"""
        local drift = require "mle.drift"
        local d = drift.{make}
        local found, estimation, width = {{}}, {{}}, {{}}
        for i, x in ipairs(data) do
          if d:update(x) then found[#found + 1] = i - 1 end
          assert(d.drift_detected == (found[#found] == i - 1))
          if d.estimation then estimation[i], width[i] = d:estimation(), d:width() end
        end
        return {{found = found, estimation = estimation, width = width}}
    """, xs, runtime=runtime)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(("make", "options"), [
    ("ADWIN()", {}),
    ("ADWIN{delta = 0.01, clock = 1}", {"delta": 0.01, "clock": 1}),
    ("ADWIN{max_buckets = 3, min_window_length = 10, grace_period = 50}",
     {"max_buckets": 3, "min_window_length": 10, "grace_period": 50}),
])
def test_adwin_detects_where_river_does(lua, runtime, make, options, stream):
    xs = STREAMS[stream]()
    got = detections(lua, runtime, make, xs)
    river = river_drift.ADWIN(**options)
    found, estimation, width = [], [], []
    for i, x in enumerate(xs):
        river.update(x)
        if river.drift_detected:
            found.append(i)
        estimation.append(river.estimation)
        width.append(river.width)
    assert (got["found"] or []) == found  # an empty Lua table comes back as {}
    assert found or stream == "real flows", "the synthetic streams drift"
    assert got["width"] == width
    np.testing.assert_allclose(got["estimation"], estimation, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(("make", "options"), [
    ("PageHinkley()", {}),
    ('PageHinkley{threshold = 10, mode = "up"}', {"threshold": 10, "mode": "up"}),
    ('PageHinkley{threshold = 10, mode = "down"}', {"threshold": 10, "mode": "down"}),
    ("PageHinkley{min_instances = 100, delta = 0.1, alpha = 0.999, threshold = 20}",
     {"min_instances": 100, "delta": 0.1, "alpha": 0.999, "threshold": 20}),
])
def test_page_hinkley_detects_where_river_does(lua, runtime, make, options, stream):
    xs = STREAMS[stream]()
    got = detections(lua, runtime, make, xs)
    river = river_drift.PageHinkley(**options)
    found = []
    for i, x in enumerate(xs):
        river.update(x)
        if river.drift_detected:
            found.append(i)
    assert (got["found"] or []) == found
