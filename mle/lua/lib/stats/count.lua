-- stats.Count: how many values were seen (River's stats.Count).
--   local c = stats.Count(); c:update(); c:get() --> 1
local unit = require "mle.util.unit"

local Count = unit.class{ name = "stats.Count", module = "mle.stats.count", kind = "statistic", fields = { "n" } }

function Count.init(s) s.n = 0 end

--- Count one value (the value itself is ignored).
function Count:update()
  local s = self.state
  s.n = s.n + 1
end

function Count:get() return self.state.n end

return Count
