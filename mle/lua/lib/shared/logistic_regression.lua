-- shared.LogisticRegression: online logistic regression in Redis (a hash of the
-- weights), shared by every worker; one FCALL (mle_lr_score_learn) predicts and
-- learns, reading and writing only the weights of the event's features.
--
--   local LR = require "mle.shared.logistic_regression"
--   local dga = LR{name = "dga", lr = 0.1, l2 = 1e-5}
--   function loop(msg)
--     local p = dga:score_learn(nil, features(msg.dns.rrname), label)  -- P(positive) before learning
--   end
--
-- The options of models.LogisticRegression plus name, ttl, tag. Feature names are
-- sent as text (numbers, e.g. hashed buckets, as integers). The same stream gives the
-- same weights as a local model.
local instance = require "mle.shared.instance"
local LR = require "mle.models.logistic_regression"
local flat = require "mle.util.flat"
local wire = require "mle.util.wire"

local unpack = table.unpack or unpack

local Shared = {}
Shared.__index = Shared

local function call(self, verb, key, x, y)
  if type(x) ~= "table" then error(self.label .. ": x must be a table {feature = number}", 3) end
  local args = { "FCALL", "mle_lr_score_learn", "1", instance.key(self, key), self.ttl, verb, flat.encode(y) }
  args[#args + 1] = self.encoded_options
  for _, v in ipairs(self.option_pairs) do args[#args + 1] = v end
  instance.append_vector(args, x, self.label)
  return wire.decode(instance.command(self, key, unpack(args)))
end

--- P(positive | x) from the instance for `key`, then learn (x, y).
function Shared:score_learn(key, x, y) return call(self, "score_learn", key, x, y) end
--- P(positive | x), without learning.
function Shared:predict_proba_one(key, x) return call(self, "predict_proba_one", key, x, nil) end
--- Learn (x, y).
function Shared:learn_one(key, x, y) call(self, "learn_one", key, x, y) end

return function(opts)
  local self = instance.new(LR, "shared.LogisticRegression", Shared, opts)
  local pairs_ = {}
  for name, value in pairs(self.options) do
    pairs_[#pairs_ + 1] = name
    pairs_[#pairs_ + 1] = flat.encode(value)
  end
  self.option_pairs, self.encoded_options = pairs_, wire.encode(#pairs_ / 2)
  return self
end
