"""mle.stats against its references on the same streams: River (Mean, Var, EWMean,
EWVar, Quantile, MAD, Histogram, Min, Max, Count), numpy (time-decayed statistics in
closed form, inter-arrival gaps) and scipy (entropy). Tolerance: 1e-9 relative at
every step (values are recorded after each update), on both runtimes."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.stats
from river import sketch as river_sketch
from river import stats as river_stats

from tests.library import streams

RTOL = 1e-9

STREAMS = {"normal": streams.normal, "real bytes": streams.bytes_toserver}


def trace(lua: Callable[..., Any], runtime: str, make: str, xs: list, read: str = "u:get()",
          update: str = "u:update(x)") -> list:
    """The unit built by the Lua expression ``make``, fed ``xs``; ``read`` after each update."""
    return lua(f"""
        local stats = require "mle.stats"
        local u = {make}
        local out = {{}}
        for i, x in ipairs(data) do
          {update}
          out[i] = {read}
        end
        return out
    """, xs, runtime=runtime)


def river_trace(unit: Any, xs: list, read: Callable[[Any], Any] | None = None) -> list:
    out = []
    for x in xs:
        unit.update(x)
        out.append(read(unit) if read else unit.get())
    return out


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize(("make", "reference"), [
    ("stats.Mean()", lambda: river_stats.Mean()),
    ("stats.Var()", lambda: river_stats.Var()),
    ("stats.Var{ddof = 0}", lambda: river_stats.Var(ddof=0)),
    ("stats.Var{ddof = 2}", lambda: river_stats.Var(ddof=2)),
    ("stats.EWMean{alpha = 0.1}", lambda: river_stats.EWMean(fading_factor=0.1)),
    ("stats.EWMean{alpha = 0.5}", lambda: river_stats.EWMean(fading_factor=0.5)),
    ("stats.EWVar{alpha = 0.1}", lambda: river_stats.EWVar(fading_factor=0.1)),
    ("stats.EWVar{alpha = 0.02}", lambda: river_stats.EWVar(fading_factor=0.02)),
    ("stats.Quantile{q = 0.5}", lambda: river_stats.Quantile(0.5)),
    ("stats.Quantile{q = 0.1}", lambda: river_stats.Quantile(0.1)),
    ("stats.Quantile{q = 0.99}", lambda: river_stats.Quantile(0.99)),
    ("stats.MAD()", lambda: river_stats.MAD()),
    ("stats.Min()", lambda: river_stats.Min()),
    ("stats.Max()", lambda: river_stats.Max()),
    ("stats.Count()", lambda: river_stats.Count()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_statistic_matches_river_at_every_step(lua, runtime, make, reference, stream):
    xs = STREAMS[stream]()
    got = trace(lua, runtime, make, xs)
    np.testing.assert_allclose(got, river_trace(reference(), xs), rtol=RTOL, atol=0)


@pytest.mark.parametrize("max_bins", [8, 64, 256])
def test_histogram_has_rivers_bins_and_cdf(lua, runtime, max_bins):
    xs = streams.normal(3000) + streams.bytes_toserver()[:2000]
    probes = np.linspace(min(xs) - 1, max(xs) + 1, 101).tolist()
    got = lua(f"""
        local stats = require "mle.stats"
        local h = stats.Histogram{{max_bins = {max_bins}}}
        for _, x in ipairs(data.xs) do h:update(x) end
        local cdf = {{}}
        for i, x in ipairs(data.probes) do cdf[i] = h:cdf(x) end
        return {{bins = h:get(), cdf = cdf}}
    """, {"xs": xs, "probes": probes}, runtime=runtime)
    river = river_sketch.Histogram(max_bins=max_bins)
    for x in xs:
        river.update(x)
    assert [(b["left"], b["right"], b["count"]) for b in got["bins"]] == [(b.left, b.right, b.count) for b in river]
    np.testing.assert_allclose(got["cdf"], [river.cdf(x) for x in probes], rtol=RTOL, atol=0)


def test_entropy_of_a_stream_of_categories_matches_scipy(lua, runtime):
    names = streams.names()
    got = trace(lua, runtime, "stats.Entropy()", names)
    counts: Counter[str] = Counter()
    reference = []
    for name in names:
        counts[name] += 1
        reference.append(scipy.stats.entropy(list(counts.values()), base=2))
    np.testing.assert_allclose(got, reference, rtol=RTOL, atol=1e-12)


def test_entropy_of_strings_and_of_counts_match_scipy(lua, runtime):
    names = [*sorted(set(streams.names()))[:500], "", "a", "aaaa", "ab"]
    got = lua("""
        local Entropy = require "mle.stats.entropy"
        local out = {}
        for i, s in ipairs(data) do out[i] = Entropy.of_string(s) end
        return {strings = out, counts = Entropy.of_counts({a = 3, b = 1, c = 0}),
                nats = Entropy.of_string("abcd", math.exp(1))}
    """, names, runtime=runtime)

    def string_entropy(s: str) -> float:
        return float(scipy.stats.entropy(list(Counter(s.encode()).values()), base=2)) if s else 0.0

    np.testing.assert_allclose(got["strings"], [string_entropy(s) for s in names], rtol=RTOL, atol=1e-12)
    assert got["counts"] == pytest.approx(scipy.stats.entropy([3, 1, 0], base=2), rel=RTOL)
    assert got["nats"] == pytest.approx(math.log(4), rel=RTOL)


def decayed_reference(xs: list[float], ts: list[float], half_life: float) -> dict[str, list[float]]:
    """Closed form: after value k, value i weighs 2^(-(max(t_0..t_k) - max(t_0..t_i)) / half_life)."""
    x, clock = np.array(xs), np.maximum.accumulate(np.array(ts))
    out: dict[str, list[float]] = {"mean": [], "var": [], "weight": []}
    for k in range(len(xs)):
        w = 2.0 ** (-(clock[k] - clock[: k + 1]) / half_life)
        mean = float(np.sum(w * x[: k + 1]) / np.sum(w))
        out["mean"].append(mean)
        out["var"].append(float(np.sum(w * (x[: k + 1] - mean) ** 2) / np.sum(w)))
        out["weight"].append(float(np.sum(w)))
    return out


@pytest.mark.parametrize("half_life", [1.0, 60.0, 3600.0])
def test_decayed_statistics_match_the_closed_form(lua, runtime, half_life):
    flows = streams.flows()[:2000]
    xs, ts = [float(f["bytes_toserver"]) for f in flows], [f["start"] for f in flows]
    ts[100], ts[101] = ts[101], ts[100] - 5  # an event older than the one before it decays nothing
    got = lua(f"""
        local stats = require "mle.stats"
        local d = stats.Decayed{{half_life = {half_life}}}
        local mean, var, weight = {{}}, {{}}, {{}}
        for i, x in ipairs(data.xs) do
          d:update(x, data.ts[i])
          mean[i], var[i], weight[i] = d:mean(), d:var(), d:weight()
        end
        return {{mean = mean, var = var, weight = weight}}
    """, {"xs": xs, "ts": ts}, runtime=runtime)
    reference = decayed_reference(xs, ts, half_life)
    np.testing.assert_allclose(got["mean"], reference["mean"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got["weight"], reference["weight"], rtol=RTOL, atol=0)
    # the variance to 1e-9 of the second moment: when one value carries nearly all the
    # weight the variance is 0 within rounding, in the closed form as here
    second_moment = np.array(reference["mean"]) ** 2 + np.array(reference["var"])
    np.testing.assert_array_less(np.abs(np.array(got["var"]) - reference["var"]), RTOL * second_moment + 1e-300)


def kitsune_reference(events: list[tuple[float, float, int]], half_life: float) -> list[dict[str, float]]:
    """Kitsune's AfterImage incStat / incStatCov as the paper defines them: each stream
    keeps (w, LS, SS); the pair keeps the decayed sum of residual products."""
    lam = 1.0 / half_life
    w, ls, ss = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    w3, cf3, last_res, last_t = 0.0, 0.0, [0.0, 0.0], None
    out = []
    for x, t, side in events:
        if last_t is not None and t > last_t:
            f = 2.0 ** (-lam * (t - last_t))
            w, ls, ss = [v * f for v in w], [v * f for v in ls], [v * f for v in ss]
            w3, cf3 = w3 * f, cf3 * f
        last_t = t if last_t is None else max(last_t, t)
        i = side - 1
        w[i] += 1
        ls[i] += x
        ss[i] += x * x
        mean = [ls[j] / w[j] if w[j] else 0.0 for j in (0, 1)]
        var = [abs(ss[j] / w[j] - mean[j] ** 2) if w[j] else 0.0 for j in (0, 1)]
        res = x - mean[i]
        cf3 += res * last_res[1 - i]
        w3 += 1
        last_res[i] = res
        cov = cf3 / w3
        ss_std = math.sqrt(var[0]) * math.sqrt(var[1])
        out.append({
            "magnitude": math.sqrt(mean[0] ** 2 + mean[1] ** 2),
            "radius": math.sqrt(var[0] ** 2 + var[1] ** 2),
            "cov": cov,
            "corr": cov / ss_std if ss_std else 0.0,
        })
    return out


def test_decayed_covariance_matches_kitsune(lua, runtime):
    rng = np.random.default_rng(3)
    flows = streams.flows()[:1500]
    # the two directions of the real flows: bytes to the server (a) and back (b), correlated
    events = []
    for f in flows:
        events.append((float(f["bytes_toserver"]), f["start"], 1))
        events.append((float(f["bytes_toclient"]) + float(rng.normal(100, 10)), f["start"] + 0.01, 2))
    got = lua("""
        local stats = require "mle.stats"
        local c = stats.DecayedCov{half_life = 30}
        local out = {}
        for i, e in ipairs(data) do
          c:update(e[1], e[2], e[3])
          out[i] = c:get()
        end
        return out
    """, [list(e) for e in events], runtime=runtime)
    reference = kitsune_reference(events, 30.0)
    for key in ("magnitude", "radius", "cov", "corr"):
        np.testing.assert_allclose([g[key] for g in got], [r[key] for r in reference], rtol=1e-7, atol=1e-9,
                                   err_msg=key)


def gap_reference(times: list[float], min_gap: float = 0.0) -> dict[str, Any]:
    gaps, last = [], None
    for t in times:
        if last is not None:
            if t < last:
                continue
            if t - last >= min_gap:
                gaps.append(t - last)
        last = t
    g = np.array(gaps)
    cv = float(g.std() / g.mean()) if len(g) >= 2 and g.mean() > 0 else None
    return {"gaps": len(g), "mean": float(g.mean()) if len(g) else 0.0, "var": float(g.var()) if len(g) else 0.0,
            "min": float(g.min()) if len(g) else None, "max": float(g.max()) if len(g) else None, "cv": cv,
            "regularity": max(0.0, 1 - cv) if cv is not None else 0.0}


def inter_arrival(lua: Callable[..., Any], runtime: str, times: list[float], min_gap: float = 0) -> dict:
    return lua(f"""
        local stats = require "mle.stats"
        local ia = stats.InterArrival{{min_gap = {min_gap}}}
        for _, t in ipairs(data) do ia:update(t) end
        return {{gaps = ia:gaps(), mean = ia:mean(), var = ia:var(), min = ia:min(), max = ia:max(), cv = ia:cv(),
                regularity = ia:regularity(), count = ia:count()}}
    """, times, runtime=runtime)


def test_inter_arrival_of_real_hosts_matches_numpy(lua, runtime):
    by_source: dict[str, list[float]] = {}
    for f in streams.flows():
        by_source.setdefault(f["src_ip"], []).append(f["start"])
    busiest = sorted(by_source, key=lambda s: -len(by_source[s]))[:5]
    for source in busiest:
        times = by_source[source]
        got, reference = inter_arrival(lua, runtime, times), gap_reference(times)
        assert got["count"] == len(times)
        assert got["gaps"] == reference["gaps"]
        for key in ("mean", "var", "min", "max", "cv", "regularity"):
            assert got.get(key) == pytest.approx(reference[key], rel=RTOL), (source, key)


def test_inter_arrival_tells_a_beacon_from_random_traffic(lua, runtime):
    rng = np.random.default_rng(4)
    beacon, t = [], 1_600_000_000.0
    for _ in range(200):  # every 60 s with 2 s of jitter, each time a burst of 3 connections
        t += 60 + rng.normal(0, 2)
        beacon += [t, t + 0.2, t + 0.3]
    random_times = np.cumsum(rng.exponential(60, 600)).tolist()
    with_bursts = inter_arrival(lua, runtime, beacon)
    bursts_merged = inter_arrival(lua, runtime, beacon, min_gap=1)
    poisson = inter_arrival(lua, runtime, random_times)
    assert bursts_merged["regularity"] > 0.9 and bursts_merged["gaps"] == 199
    assert bursts_merged["regularity"] == pytest.approx(gap_reference(beacon, 1)["regularity"], rel=RTOL)
    assert with_bursts["regularity"] < 0.1  # without min_gap the bursts hide the clock
    assert poisson["regularity"] < 0.15
