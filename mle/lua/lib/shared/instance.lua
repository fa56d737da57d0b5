-- mle.shared.instance: what the shared anomaly detectors and models have in common
-- (mle.shared.hst, .rarity, .logistic_regression, .naive_bayes): the options every
-- shared unit takes (name, ttl, tag), the Redis key of the instance for a key (one
-- hash slot per instance: mle:<tag>:{<name>:<key>}), and one command with a Redis
-- error turned into a Lua error naming the unit and the key.
local unit = require "mle.util.unit"
local wire = require "mle.util.wire"

local M = {}

local SHARED_OPTIONS = {
  name = unit.string{ describe = "a non-empty string" },
  ttl = unit.number{ default = 0, min = 0 },
  tag = unit.string{ optional = true, describe = "a non-empty string" },
}

--- A shared unit's base: `class` is the local unit class (its options are checked
--- too); returns the object (label, prefix, ttl, conn) and the local unit's options.
function M.new(class, label, methods, opts)
  local specs = {}
  for k, v in pairs(class.options) do specs[k] = v end
  for k, v in pairs(SHARED_OPTIONS) do specs[k] = v end
  local all = unit.options({ name = label, options = specs }, opts, 3)
  local own = {}
  for k in pairs(class.options) do own[k] = all[k] end
  class.new(own)  -- the unit's own checks (e.g. trees against n_trees)
  local self = setmetatable({ label = label, options = own }, methods)
  self.prefix = string.format("mle:%s:{%s", all.tag or mle.tag, all.name)
  self.ttl = wire.encode(all.ttl)
  self.conn = hiredis.connect()
  if self.conn == nil then error(label .. ": no Redis connection", 3) end
  return self
end

--- The Redis key of the instance for `key` (nil: the unit's single instance), with `suffix`.
function M.key(self, key, suffix)
  local base = self.prefix
  if key ~= nil then base = base .. ":" .. wire.item(key, self.label) end
  return base .. "}" .. (suffix or "")
end

--- Send one command; a Redis error is a Lua error naming the unit and `key`.
function M.command(self, key, ...)
  local reply, problem = self.conn:command(...)
  if reply == nil then
    error(string.format("%s %s: %s", self.label, tostring(key), tostring(problem)), 3)
  end
  if type(reply) == "table" and reply.type == hiredis.REPLY_ERROR then
    error(string.format("%s %s: %s", self.label, tostring(key), tostring(reply.name)), 3)
  end
  return reply
end

--- Append a feature vector {name = number} as name, value pairs (names as wire items).
function M.append_vector(args, x, label)
  for name, value in pairs(x) do
    if type(value) ~= "number" then
      error(string.format("%s: feature %s must be a number, got %s", label, tostring(name), type(value)), 3)
    end
    args[#args + 1] = wire.item(name, label)
    args[#args + 1] = wire.encode(value)
  end
  return args
end

return M
