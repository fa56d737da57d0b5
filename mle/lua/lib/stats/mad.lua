-- stats.MAD: the median absolute deviation, streaming, as River's stats.MAD: a
-- P² median of the values and a P² median of |x - median| (the median updated
-- first), so it approaches the batch MAD without storing values.
--   local m = stats.MAD(); for _, x in ipairs{4, 2, 5, 3, 0, 4} do m:update(x) end; m:get() --> 1
local unit = require "mle.util.unit"
local Quantile = require "mle.stats.quantile"

local MAD = unit.class{ name = "stats.MAD", module = "mle.stats.mad", kind = "statistic" }

function MAD.init(s)
  s.median = Quantile.new{ q = 0.5 }.state
  s.deviation = Quantile.new{ q = 0.5 }.state
end

function MAD:update(x)
  local s = self.state
  local median = Quantile.from_state(s.median)
  median:update(x)
  Quantile.from_state(s.deviation):update(math.abs(x - median:get()))
end

--- The MAD (nil before the first value).
function MAD:get() return Quantile.from_state(self.state.deviation):get() end

--- The running median the deviations are taken from.
function MAD:median() return Quantile.from_state(self.state.median):get() end

return MAD
