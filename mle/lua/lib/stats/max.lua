-- stats.Max: the largest value seen (nil before the first), as River's stats.Max.
--   local m = stats.Max(); m:update(3); m:update(-1); m:get() --> 3
local unit = require "mle.util.unit"

local Max = unit.class{ name = "stats.Max", module = "mle.stats.max", kind = "statistic", fields = { "n", "value" } }

function Max.init(s) s.n, s.value = 0, 0 end

function Max:update(x)
  local s = self.state
  if s.n == 0 or x > s.value then s.value = x end
  s.n = s.n + 1
end

function Max:get()
  local s = self.state
  if s.n == 0 then return nil end
  return s.value
end

return Max
