-- stats.EWMean: exponentially weighted mean, as River's stats.EWMean (its
-- `fading_factor` is `alpha` here): mean = alpha * x + (1 - alpha) * mean, the
-- first value taken as it is. (River restarts whenever its mean is exactly 0;
-- this starts from the first value only.)
--   local m = stats.EWMean{alpha = 0.5}; m:update(1); m:update(3); m:get() --> 2
local unit = require "mle.util.unit"

local EWMean = unit.class{
  name = "stats.EWMean", module = "mle.stats.ewmean", kind = "statistic",
  options = { alpha = unit.number{ default = 0.5, min = 0, max = 1, min_open = true } },
  fields = { "n", "mean" },
}

function EWMean.init(s) s.n, s.mean = 0, 0 end

function EWMean:update(x)
  local s = self.state
  if s.n == 0 then s.mean = x else s.mean = s.alpha * x + (1 - s.alpha) * s.mean end
  s.n = s.n + 1
end

function EWMean:get() return self.state.mean end

return EWMean
