-- shared.HalfSpaceTrees: Half-Space Trees in Redis, shared by every worker: one
-- FCALL (mle_hst_score_learn, mle/lua/redis/anomaly.lua) scores and learns a vector.
--
--   local HST = require "mle.shared.hst"
--   local hst = HST{name = "flows", n_trees = 10, height = 8, window_size = 250, ttl = 86400}
--   function loop(msg)
--     local s = hst:score_learn(msg.src_ip, {bytes = b, pkts = p})  -- one model per source
--   end
--
-- The options of anomaly.HalfSpaceTrees (except trees: the server draws them from the
-- first vector learnt, with the seed, exactly as a local one would) plus name, ttl,
-- tag. Verbs take the instance key first (nil: one model for the analyzer).
-- Costs about 3 Redis calls per tree level inside the function.
local instance = require "mle.shared.instance"
local HST = require "mle.anomaly.hst"
local wire = require "mle.util.wire"

local unpack = table.unpack or unpack

local Shared = {}
Shared.__index = Shared

local function call(self, verb, key, x)
  if type(x) ~= "table" then error(self.label .. ": x must be a table {feature = number}", 3) end
  local base = instance.key(self, key)
  local o = self.options
  local args = { "FCALL", "mle_hst_score_learn", "3", base, instance.key(self, key, ":a"),
                 instance.key(self, key, ":b"), self.ttl, verb, wire.encode(o.n_trees), wire.encode(o.height),
                 wire.encode(o.window_size), wire.encode(o.seed) }
  local limits = {}
  for f, range in pairs(o.limits or {}) do
    limits[#limits + 1] = wire.item(f, self.label)
    limits[#limits + 1] = wire.encode(range[1])
    limits[#limits + 1] = wire.encode(range[2])
  end
  args[#args + 1] = wire.encode(#limits / 3)
  for _, v in ipairs(limits) do args[#args + 1] = v end
  instance.append_vector(args, x, self.label)
  local reply = instance.command(self, key, unpack(args))
  return wire.decode(reply)
end

--- Score x against the instance for `key`, then learn it; returns the score.
function Shared:score_learn(key, x) return call(self, "score_learn", key, x) end
--- The score of x, without learning it.
function Shared:score_one(key, x) return call(self, "score_one", key, x) end
--- Learn x.
function Shared:learn_one(key, x) call(self, "learn_one", key, x) end

return function(opts)
  if type(opts) == "table" and opts.trees ~= nil then
    error("shared.HalfSpaceTrees: option \"trees\" is not supported (the server draws the trees)", 2)
  end
  return instance.new(HST, "shared.HalfSpaceTrees", Shared, opts)
end
