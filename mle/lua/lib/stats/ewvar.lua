-- stats.EWVar: exponentially weighted variance, as River's stats.EWVar:
-- EW mean of x^2 minus the square of the EW mean of x (`alpha` as in stats.EWMean).
--   local v = stats.EWVar{alpha = 0.5}; v:update(1); v:update(3); v:get() --> 1
local unit = require "mle.util.unit"

local EWVar = unit.class{
  name = "stats.EWVar", module = "mle.stats.ewvar", kind = "statistic",
  options = { alpha = unit.number{ default = 0.5, min = 0, max = 1, min_open = true } },
  fields = { "n", "mean", "sq" },
}

function EWVar.init(s) s.n, s.mean, s.sq = 0, 0, 0 end

function EWVar:update(x)
  local s = self.state
  if s.n == 0 then
    s.mean, s.sq = x, x * x
  else
    local a = s.alpha
    s.mean = a * x + (1 - a) * s.mean
    s.sq = a * (x * x) + (1 - a) * s.sq
  end
  s.n = s.n + 1
end

function EWVar:get()
  local s = self.state
  return s.sq - s.mean * s.mean
end

function EWVar:mean() return self.state.mean end
function EWVar:std()
  local v = self:get()
  return v > 0 and math.sqrt(v) or 0
end

return EWVar
