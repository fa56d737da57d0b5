-- Rarity scorer: how rare is this value for this key (a country for a host, a JA3
-- for a server name, a user agent for a subnet).
--
--   local Rarity = require "mle.anomaly.rarity"
--   local r = Rarity{alpha = 1}
--   local s = r:score_learn(msg.geoip.country, msg.src_ip)   -- value, key
--
-- For a key that has seen `total` values, `k` distinct ones, the value v `count(v)` times:
--   p(v)  = (count(v) + alpha) / (total + alpha * k')   with k' = k, or k + 1 if v is new
--   score = 1 - p(v)
-- Additive (Laplace) smoothing over the values seen so far plus v itself: the first
-- value of a key scores 0; after 1,000 "US" a first "KP" scores 1 - 1/1002 = 0.999;
-- a value seen half of the time scores about 0.5. Values are compared as given (the
-- number 1 and the string "1" are two values); key defaults to "". Every key keeps
-- a count per distinct value: the shared variant (mle.shared) can give keys a TTL.

local unit = require "mle.util.unit"

local Rarity = unit.class{
  name = "anomaly.Rarity", module = "mle.anomaly.rarity", kind = "anomaly", input = "string",
  options = { alpha = unit.number{ default = 1, min = 0, min_open = true } },
}

function Rarity.init(s) s.keys = {} end

--- The score of a value with `count` of `total` observations over `distinct` values
-- (counted without it when new): the formula above, for the shared variant too.
function Rarity.score(alpha, count, total, distinct)
  if count == 0 then distinct = distinct + 1 end
  return 1 - (count + alpha) / (total + alpha * distinct)
end

local function entry(self, key)
  if key == nil then key = "" end
  return self.state.keys[key], key
end

function Rarity:score_one(value, key)
  local e = entry(self, key)
  if e == nil then return 0 end
  return Rarity.score(self.state.alpha, e.counts[value] or 0, e.total, e.distinct)
end

function Rarity:learn_one(value, key)
  local e, k = entry(self, key)
  if e == nil then
    e = {total = 0, distinct = 0, counts = {}}
    self.state.keys[k] = e
  end
  local count = e.counts[value]
  if count == nil then
    count = 0
    e.distinct = e.distinct + 1
  end
  e.counts[value] = count + 1
  e.total = e.total + 1
end

--- Score the value, then count it.
function Rarity:score_learn(value, key)
  local score = self:score_one(value, key)
  self:learn_one(value, key)
  return score
end

return Rarity
