-- shared.MultinomialNB: multinomial naive Bayes in Redis (a hash of counts), shared by
-- every worker; one FCALL (mle_nb_score_learn) predicts and learns, reading only the
-- counts of the event's tokens.
--
--   local NB = require "mle.shared.naive_bayes"
--   local uri = NB{name = "uri-tokens", alpha = 1}
--   function loop(msg)
--     local p = uri:score_learn(nil, tokens(msg.http.url), label)  -- {class = probability}
--   end
--
-- The options of models.MultinomialNB plus name, ttl, tag. Class labels come back
-- as text (a label 1 is "1"); the probabilities equal a local model's.
local instance = require "mle.shared.instance"
local NB = require "mle.models.naive_bayes"
local flat = require "mle.util.flat"
local wire = require "mle.util.wire"

local unpack = table.unpack or unpack

local Shared = {}
Shared.__index = Shared

local function call(self, verb, key, x, y)
  if type(x) ~= "table" then error(self.label .. ": x must be a table {token = count}", 3) end
  if y ~= nil then y = wire.item(y, self.label) end
  local args = { "FCALL", "mle_nb_score_learn", "1", instance.key(self, key), self.ttl, verb, flat.encode(y),
                 "1", "alpha", flat.encode(self.options.alpha) }
  instance.append_vector(args, x, self.label)
  local reply = instance.command(self, key, unpack(args))
  local p = {}
  for i = 1, #reply, 2 do p[reply[i]] = wire.decode(reply[i + 1]) end
  return p
end

--- {class = probability} from the instance for `key`, then learn (x, y).
function Shared:score_learn(key, x, y)
  if y == nil then error(self.label .. ":score_learn needs a class label", 2) end
  return call(self, "score_learn", key, x, y)
end
--- {class = probability}, without learning.
function Shared:predict_proba_one(key, x) return call(self, "predict_proba_one", key, x, nil) end
--- Learn (x, y).
function Shared:learn_one(key, x, y)
  if y == nil then error(self.label .. ":learn_one needs a class label", 2) end
  call(self, "learn_one", key, x, y)
end

return function(opts) return instance.new(NB, "shared.MultinomialNB", Shared, opts) end
