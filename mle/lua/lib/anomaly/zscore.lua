-- Z-score scorer: how many standard deviations a value lies from the running mean,
-- as a score in [0, 1] (River's GaussianScorer without a window).
--
--   local ZScore = require "mle.anomaly.zscore"
--   local d = ZScore{grace_period = 100}
--   local s = d:score_learn(bytes)      -- 0 until 100 values were learnt
--   local z = d:deviation(bytes)        -- the signed standardized deviation itself
--
-- Mean and variance are Welford's (sample variance, n - 1). The score of x is
-- ZScore.deviation_score(z) with z = (x - mean) / sd: P(|Z| < |z|) for a standard
-- normal Z, = erf(|z| / sqrt(2)) = 2 |Phi(z) - 1/2|, River's GaussianScorer mapping:
-- 1 sd -> 0.683, 2 sd -> 0.954, 3 sd -> 0.997 (erf to ~1e-15: Lua has none). While
-- fewer than grace_period values (at least 2) were learnt the score is 0. With a
-- zero standard deviation, a value equal to the mean scores 0 and any other value 1.

local unit = require "mle.util.unit"

local ZScore = unit.class{
  name = "anomaly.ZScore", module = "mle.anomaly.zscore", kind = "anomaly", input = "number",
  options = { grace_period = unit.number{ default = 100, min = 0, integer = true } },
}

function ZScore.init(s) s.n, s.mean, s.m2 = 0, 0, 0 end

local exp, sqrt, abs = math.exp, math.sqrt, math.abs
local TWO_OVER_SQRT_PI = 2 / sqrt(math.pi)

--- The error function.
function ZScore.erf(x)
  local a = abs(x)
  local value
  if a < 2.5 then
    local term, sum, n, x2 = a, a, 0, a * a
    repeat
      n = n + 1
      term = -term * x2 / n
      local add = term / (2 * n + 1)
      sum = sum + add
    until abs(add) <= 1e-17 * abs(sum)
    value = TWO_OVER_SQRT_PI * sum
  else
    -- erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
    local fraction = a
    for k = 60, 1, -1 do fraction = a + (k / 2) / fraction end
    value = 1 - exp(-a * a) / (sqrt(math.pi) * fraction)
  end
  if x < 0 then return -value end
  return value
end

--- The anomaly score of a standardized deviation z (see the header).
function ZScore.deviation_score(z)
  if z ~= z then return 0 end
  return ZScore.erf(abs(z) / sqrt(2))
end

function ZScore:learn_one(x)
  local s = self.state
  s.n = s.n + 1
  local delta = x - s.mean
  s.mean = s.mean + delta / s.n
  s.m2 = s.m2 + delta * (x - s.mean)
end

--- (x - mean) / sd; nil before two values were learnt; +-inf (0 for x = mean) when sd = 0.
function ZScore:deviation(x)
  local s = self.state
  if s.n < 2 then return nil end
  local sd = math.sqrt(s.m2 / (s.n - 1))
  if sd == 0 then
    if x == s.mean then return 0 end
    return (x - s.mean) * math.huge
  end
  return (x - s.mean) / sd
end

function ZScore:score_one(x)
  if self.state.n < self.state.grace_period then return 0 end
  local z = self:deviation(x)
  if z == nil then return 0 end
  if z == math.huge or z == -math.huge then return 1 end
  return ZScore.deviation_score(z)
end

--- Score x, then learn it.
function ZScore:score_learn(x)
  local score = self:score_one(x)
  self:learn_one(x)
  return score
end

return ZScore
