-- Z-score scorer: how many standard deviations a value lies from the running mean,
-- as a score in [0, 1] (River's GaussianScorer without a window).
--
--   local ZScore = require "mle.anomaly.zscore"
--   local d = ZScore{grace_period = 100}
--   local s = d:score_learn(bytes)      -- 0 until 100 values were learnt
--   local z = d:deviation(bytes)        -- the signed standardized deviation itself
--
-- Mean and variance are Welford's (sample variance, n - 1). The score of x is
-- erf(|z| / sqrt(2)) with z = (x - mean) / sd (mle.anomaly.deviation): 1 sd -> 0.683,
-- 2 sd -> 0.954, 3 sd -> 0.997. While fewer than grace_period values (at least 2) were
-- learnt the score is 0. With a zero standard deviation, a value equal to the mean
-- scores 0 and any other value 1.

local deviation = require "mle.anomaly.deviation"

local unit = require "mle.util.unit"

local ZScore = unit.class{
  name = "anomaly.ZScore", module = "mle.anomaly.zscore", kind = "anomaly",
  options = { grace_period = unit.number{ default = 100, min = 0, integer = true } },
}

function ZScore.init(s) s.n, s.mean, s.m2 = 0, 0, 0 end

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
  return deviation.score(z)
end

--- Score x, then learn it.
function ZScore:score_learn(x)
  local score = self:score_one(x)
  self:learn_one(x)
  return score
end

return ZScore
