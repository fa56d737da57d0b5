-- shared.Rarity: the rarity scorer in Redis, one hash of counts per key, shared by
-- every worker; one FCALL (mle_rarity_score_learn) scores and counts a value.
--
--   local Rarity = require "mle.shared.rarity"
--   local countries = Rarity{name = "country-by-host", alpha = 1, ttl = 7 * 86400}
--   function loop(msg)
--     local s = countries:score_learn(msg.src_ip, msg.geoip.country_name)
--   end
--
-- The score is anomaly.Rarity's (the same formula). Values are compared as text
-- (numbers written the same on every runtime: 1 and "1" are one value).
local instance = require "mle.shared.instance"
local Rarity = require "mle.anomaly.rarity"
local wire = require "mle.util.wire"

local Shared = {}
Shared.__index = Shared

local function call(self, verb, key, value)
  local reply = instance.command(self, key, "FCALL", "mle_rarity_score_learn", "1", instance.key(self, key),
    self.ttl, verb, wire.encode(self.options.alpha), wire.item(value, self.label))
  return wire.decode(reply)
end

--- The rarity of `value` for `key`, then count it.
function Shared:score_learn(key, value) return call(self, "score_learn", key, value) end
--- The rarity of `value` for `key`, without counting it.
function Shared:score_one(key, value) return call(self, "score_one", key, value) end
--- Count `value` for `key`.
function Shared:learn_one(key, value) call(self, "learn_one", key, value) end

return function(opts) return instance.new(Rarity, "shared.Rarity", Shared, opts) end
