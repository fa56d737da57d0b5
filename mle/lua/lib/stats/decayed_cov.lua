-- stats.DecayedCov: Kitsune's two-stream damped statistics (AfterImage's
-- incStatCov): two streams a and b (e.g. the two directions of a connection),
-- each a stats.Decayed, decayed together to the latest time, and the decayed
-- sum of residual products: a value of one stream times the last residual of the
-- other. It answers Kitsune's 2D features: magnitude sqrt(mean_a^2 + mean_b^2),
-- radius sqrt(var_a^2 + var_b^2), covariance and correlation.
--   local c = stats.DecayedCov{half_life = 10}
--   c:update(x, t, 1)   -- a value of stream a (1) or b (2) at time t
--   c:get() --> {magnitude = , radius = , cov = , corr = }
local unit = require "mle.util.unit"

local DecayedCov = unit.class{
  name = "stats.DecayedCov", module = "mle.stats.decayed_cov", kind = "statistic", input = "timed2",
  options = { half_life = unit.number{ default = 60, min = 0, min_open = true } },
  fields = { "n", "t", "wa", "ma", "sa", "wb", "mb", "sb", "w3", "c3", "ra", "rb" },
}

local sqrt = math.sqrt

function DecayedCov.init(s)
  s.n, s.t = 0, 0
  s.wa, s.ma, s.sa = 0, 0, 0  -- stream a: weight, mean, sum of squared deviations
  s.wb, s.mb, s.sb = 0, 0, 0  -- stream b
  s.w3, s.c3 = 0, 0           -- weight and sum of the residual products
  s.ra, s.rb = 0, 0           -- each stream's last residual
end

--- Add value `x` of stream `side` (1 = a, 2 = b) seen at time `t` (seconds).
function DecayedCov:update(x, t, side)
  local s = self.state
  if side ~= 1 and side ~= 2 then error("stats.DecayedCov:update: side must be 1 or 2, got " .. tostring(side), 2) end
  if s.n == 0 then
    s.t = t
  elseif t > s.t then
    local f = 2 ^ (-(t - s.t) / s.half_life)
    s.wa, s.sa, s.wb, s.sb = s.wa * f, s.sa * f, s.wb * f, s.sb * f
    s.w3, s.c3 = s.w3 * f, s.c3 * f
    s.t = t
  end
  s.n = s.n + 1
  local res
  if side == 1 then
    local old = s.ma
    s.wa = s.wa + 1
    s.ma = old + (x - old) / s.wa
    s.sa = s.sa + (x - old) * (x - s.ma)
    res = x - s.ma
    s.c3 = s.c3 + res * s.rb
    s.ra = res
  else
    local old = s.mb
    s.wb = s.wb + 1
    s.mb = old + (x - old) / s.wb
    s.sb = s.sb + (x - old) * (x - s.mb)
    res = x - s.mb
    s.c3 = s.c3 + res * s.ra
    s.rb = res
  end
  s.w3 = s.w3 + 1
end

local function var(w, m2)
  if w <= 0 then return 0 end
  local v = m2 / w
  return v > 0 and v or 0
end

function DecayedCov:mean(side) return side == 2 and self.state.mb or self.state.ma end
function DecayedCov:var(side)
  local s = self.state
  if side == 2 then return var(s.wb, s.sb) end
  return var(s.wa, s.sa)
end
function DecayedCov:std(side) return sqrt(self:var(side)) end

function DecayedCov:magnitude()
  local s = self.state
  return sqrt(s.ma * s.ma + s.mb * s.mb)
end

function DecayedCov:radius()
  local va, vb = self:var(1), self:var(2)
  return sqrt(va * va + vb * vb)
end

function DecayedCov:cov()
  local s = self.state
  if s.w3 <= 0 then return 0 end
  return s.c3 / s.w3
end

--- The correlation (0 while either stream has no spread).
function DecayedCov:corr()
  local ss = self:std(1) * self:std(2)
  if ss == 0 then return 0 end
  return self:cov() / ss
end

function DecayedCov:get()
  return { magnitude = self:magnitude(), radius = self:radius(), cov = self:cov(), corr = self:corr() }
end

return DecayedCov
