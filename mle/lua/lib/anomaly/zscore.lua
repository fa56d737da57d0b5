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

local ZScore = {}
ZScore.__index = ZScore
setmetatable(ZScore, {__call = function(cls, opts) return cls.new(opts) end})

local function check_options(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("ZScore: options must be a table", 4) end
  local g = opts.grace_period
  if g == nil then return 100 end
  if type(g) ~= "number" or g ~= math.floor(g) or g < 0 then
    error("ZScore: option grace_period must be an integer >= 0, got " .. tostring(g), 4)
  end
  return g
end

--- A new scorer; options: grace_period (default 100).
function ZScore.new(opts)
  return setmetatable({state = {grace_period = check_options(opts), n = 0, mean = 0, m2 = 0}}, ZScore)
end

--- Rebuild a scorer from its state (`d.state`).
function ZScore.from_state(state)
  return setmetatable({state = state}, ZScore)
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
  return deviation.score(z)
end

--- Score x, then learn it.
function ZScore:score_learn(x)
  local score = self:score_one(x)
  self:learn_one(x)
  return score
end

return ZScore
