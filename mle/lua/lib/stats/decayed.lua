-- stats.Decayed: time-decayed weight, mean and variance of a stream, the damped
-- window of Kitsune's AfterImage (Mirsky et al. 2018): before each value, what
-- was seen is weighted down by 2^(-dt / half_life), dt the event time elapsed
-- (seconds, only forward: an older timestamp decays nothing). Kitsune keeps
-- (weight, linear sum, squared sum, last time); this keeps (weight, mean, sum of
-- squared deviations, last time), the same statistics without the cancellation
-- of SS/w - mean^2. `lambda` (Kitsune's decay rate) is 1 / half_life.
--   local d = stats.Decayed{half_life = 60}; d:update(10, t); d:update(20, t + 60)
--   d:mean() --> 16.67 (the first value weighs 1/2); d:var(); d:std(); d:weight()
local unit = require "mle.util.unit"

local Decayed = unit.class{
  name = "stats.Decayed", module = "mle.stats.decayed", kind = "statistic", input = "timed",
  options = { half_life = unit.number{ default = 60, min = 0, min_open = true } },
  fields = { "n", "t", "w", "mean", "m2" },
}

local sqrt = math.sqrt

function Decayed.init(s) s.n, s.t, s.w, s.mean, s.m2 = 0, 0, 0, 0, 0 end

--- Weigh down what was seen for the time from the last value to `t` (seconds).
function Decayed:decay(t)
  local s = self.state
  if s.n == 0 then
    s.t = t
  elseif t > s.t then
    local f = 2 ^ (-(t - s.t) / s.half_life)
    s.w, s.m2, s.t = s.w * f, s.m2 * f, t
  end
end

--- Add value `x` seen at time `t` (seconds, e.g. the event's timestamp).
function Decayed:update(x, t)
  self:decay(t)
  local s = self.state
  local old = s.mean
  s.w = s.w + 1
  s.mean = old + (x - old) / s.w
  s.m2 = s.m2 + (x - old) * (x - s.mean)
  s.n = s.n + 1
end

function Decayed:get() return self.state.mean end
function Decayed:mean() return self.state.mean end

--- The decayed (population) variance.
function Decayed:var()
  local s = self.state
  if s.w <= 0 then return 0 end
  local v = s.m2 / s.w
  return v > 0 and v or 0
end

function Decayed:std() return sqrt(self:var()) end

--- The decayed weight (how many recent values, roughly), at the last value's time or at `t`.
function Decayed:weight(t)
  local s = self.state
  if t ~= nil and t > s.t then return s.w * 2 ^ (-(t - s.t) / s.half_life) end
  return s.w
end

return Decayed
