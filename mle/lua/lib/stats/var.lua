-- stats.Var: running variance by Welford's algorithm, as River's stats.Var;
-- the divisor is n - ddof (ddof = 1: the sample variance, 0: the population's).
--   local v = stats.Var{ddof = 1}; for _, x in ipairs{3, 5, 4} do v:update(x) end; v:get() --> 1
local unit = require "mle.util.unit"

local Var = unit.class{
  name = "stats.Var", module = "mle.stats.var", kind = "statistic",
  options = { ddof = unit.number{ default = 1, min = 0, integer = true } },
  fields = { "n", "mean", "m2" },
}

function Var.init(s) s.n, s.mean, s.m2 = 0, 0, 0 end

--- Add `x` with weight `w` (default 1).
function Var:update(x, w)
  local s = self.state
  w = w or 1
  local old = s.mean
  s.n = s.n + w
  s.mean = old + (w / s.n) * (x - old)
  s.m2 = s.m2 + w * (x - old) * (x - s.mean)
end

--- Take back a value added with `update(x, w)`.
function Var:revert(x, w)
  local s = self.state
  w = w or 1
  local old = s.mean
  s.n = s.n - w
  if s.n < 0 then error("stats.Var: revert below zero weight", 2) end
  if s.n == 0 then s.mean = 0 else s.mean = old - (w / s.n) * (x - old) end
  s.m2 = s.m2 - w * (x - old) * (x - s.mean)
end

--- The variance (0 until more than ddof values were seen).
function Var:get()
  local s = self.state
  if s.n > s.ddof then return s.m2 / (s.n - s.ddof) end
  return 0
end

function Var:mean() return self.state.mean end
function Var:std() return math.sqrt(self:get()) end
function Var:count() return self.state.n end

return Var
