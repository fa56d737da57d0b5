-- stats.Min: the smallest value seen (nil before the first), as River's stats.Min.
--   local m = stats.Min(); m:update(3); m:update(-1); m:get() --> -1
local unit = require "mle.util.unit"

local Min = unit.class{ name = "stats.Min", module = "mle.stats.min", kind = "statistic", fields = { "n", "value" } }

function Min.init(s) s.n, s.value = 0, 0 end

function Min:update(x)
  local s = self.state
  if s.n == 0 or x < s.value then s.value = x end
  s.n = s.n + 1
end

function Min:get()
  local s = self.state
  if s.n == 0 then return nil end
  return s.value
end

return Min
