-- stats.InterArrival: the gaps between the events of one key (a host pair, a
-- domain): count, first and last time, mean, variance, min and max of the gaps,
-- and a regularity measure for beaconing: 1 - coefficient of variation of the
-- gaps, floored at 0 (1 = a perfect clock; random, Poisson-like arrivals give
-- about 0). An event older than the last one counts but adds no gap; gaps
-- shorter than `min_gap` seconds are taken as one burst (the gap is measured
-- from the burst's last event), so a beacon that opens three connections at
-- once still looks regular.
--   local ia = stats.InterArrival{min_gap = 1}
--   for _, t in ipairs{0, 60, 120, 181} do ia:update(t) end
--   ia:mean() --> 60.33; ia:regularity() --> 0.99; ia:gaps() --> 3
local unit = require "mle.util.unit"

local InterArrival = unit.class{
  name = "stats.InterArrival", module = "mle.stats.inter_arrival", kind = "statistic",
  options = { min_gap = unit.number{ default = 0, min = 0 } },
  fields = { "n", "first", "last", "gaps", "mean", "m2", "min", "max" },
}

local sqrt = math.sqrt

function InterArrival.init(s)
  s.n, s.first, s.last = 0, 0, 0
  s.gaps, s.mean, s.m2, s.min, s.max = 0, 0, 0, 0, 0
end

--- An event of this key at time `t` (seconds).
function InterArrival:update(t)
  local s = self.state
  s.n = s.n + 1
  if s.n == 1 then
    s.first, s.last = t, t
    return
  end
  local gap = t - s.last
  if gap < 0 then return end
  s.last = t
  if gap < s.min_gap then return end
  local g = s.gaps + 1
  s.gaps = g
  local old = s.mean
  s.mean = old + (gap - old) / g
  s.m2 = s.m2 + (gap - old) * (gap - s.mean)
  if g == 1 or gap < s.min then s.min = gap end
  if g == 1 or gap > s.max then s.max = gap end
end

--- The mean gap (0 before the first gap).
function InterArrival:get() return self.state.mean end
function InterArrival:mean() return self.state.mean end

--- The (population) variance of the gaps.
function InterArrival:var()
  local s = self.state
  if s.gaps == 0 then return 0 end
  return s.m2 / s.gaps
end

function InterArrival:std() return sqrt(self:var()) end
function InterArrival:count() return self.state.n end
function InterArrival:gaps() return self.state.gaps end
function InterArrival:last() return self.state.last end
function InterArrival:min() return self.state.gaps > 0 and self.state.min or nil end
function InterArrival:max() return self.state.gaps > 0 and self.state.max or nil end

--- The coefficient of variation of the gaps, std / mean (nil before two gaps or when the mean is 0).
function InterArrival:cv()
  local s = self.state
  if s.gaps < 2 or s.mean <= 0 then return nil end
  return self:std() / s.mean
end

--- 1 - cv, floored at 0; 0 before two gaps.
function InterArrival:regularity()
  local cv = self:cv()
  if cv == nil or cv >= 1 then return 0 end
  return 1 - cv
end

return InterArrival
