-- stats.Mean: running (weighted) mean, as River's stats.Mean (West 1979).
--   local m = stats.Mean(); m:update(3); m:update(5); m:get() --> 4
local unit = require "mle.util.unit"

local Mean = unit.class{ name = "stats.Mean", module = "mle.stats.mean", kind = "statistic", fields = { "n", "mean" } }

function Mean.init(s) s.n, s.mean = 0, 0 end

--- Add `x` with weight `w` (default 1).
function Mean:update(x, w)
  local s = self.state
  w = w or 1
  s.n = s.n + w
  s.mean = s.mean + (w / s.n) * (x - s.mean)
end

--- Take back a value added with `update(x, w)`.
function Mean:revert(x, w)
  local s = self.state
  w = w or 1
  s.n = s.n - w
  if s.n < 0 then error("stats.Mean: revert below zero weight", 2) end
  if s.n == 0 then s.mean = 0 else s.mean = s.mean - (w / s.n) * (x - s.mean) end
end

function Mean:get() return self.state.mean end

return Mean
