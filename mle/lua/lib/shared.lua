-- mle.shared: the library's units with their state in Redis, shared by every
-- worker (and every engine on the same Redis). Each unit is a family of
-- instances, one per key (a host, a pair, a domain): every verb takes the key
-- first (nil: the unit's single instance), then the local verb's arguments.
--
--   local shared = require "mle.shared"
--   local bytes = shared.Var{name = "bytes", ttl = 86400}    -- at load time
--   function loop(msg)
--     local before, after = bytes:update(msg.src_ip, msg.flow.bytes_toserver)
--     local z = (x - before:mean()) / before:std()            -- units rebuilt from the state
--   end
--
-- Options: `name` (required), `ttl` (seconds; every update refreshes it; 0 = no
-- expiry), `tag` (the key prefix's analyzer tag, default this script's) and the
-- unit's own options. Keys: mle:<tag>:{<name>:<key>} (a unit instance's keys
-- share one hash slot, so it runs on Redis Cluster). Every update is one atomic
-- command (FCALL mle_*), batched by the engine with the other events' commands.
--
-- Statistics (Count, Mean, Var, EWMean, EWVar, Decayed, DecayedCov, Min, Max,
-- InterArrival): a Redis hash of the unit's fields, updated on the server by the
-- same module the engine runs (mle/lua/redis/stats.lua). A verb returns what the
-- local verb returns, then the unit before and after (local units rebuilt from
-- the state: `after:get()`). `u:get(key)` reads one without changing it.
-- Sketches: CountMin, Bloom, TopK (positions from the local sketch's code,
-- applied by mle/lua/redis/sketch.lua) and HyperLogLog (Redis's PFADD/PFCOUNT).
local unit = require "mle.util.unit"
local flat = require "mle.util.flat"
local wire = require "mle.util.wire"

local shared = {}

local type, tostring, tonumber, pairs, ipairs, error, select = type, tostring, tonumber, pairs, ipairs, error, select
local unpack, format, floor = table.unpack or unpack, string.format, math.floor

local SHARED_OPTIONS = {
  name = unit.string{ describe = "a non-empty string" },
  ttl = unit.number{ default = 0, min = 0 },
  tag = unit.string{ optional = true, describe = "a non-empty string" },
}

-- Split `opts` into the shared options and the unit's; errors name `label`.
local function split_options(label, class_options, opts)
  local specs = {}
  for k, v in pairs(class_options or {}) do specs[k] = v end
  for k, v in pairs(SHARED_OPTIONS) do specs[k] = v end
  local all = unit.options({ name = label, options = specs }, opts, 3)
  local own = {}
  for k in pairs(class_options or {}) do own[k] = all[k] end
  return all, own
end

-- The base of every shared unit: its connection, key prefix and TTL.
local function base(label, all, methods)
  local self = setmetatable({}, methods)
  self.label = label
  self.prefix = format("mle:%s:{%s", all.tag or mle.tag, all.name)
  self.ttl = wire.encode(all.ttl)
  self.conn = hiredis.connect()
  if self.conn == nil then error(label .. ": no Redis connection", 3) end
  return self
end

--- The Redis key of this unit's instance for `key` (nil: its single instance).
local function redis_key(self, key)
  if key == nil then return self.prefix .. "}" end
  return self.prefix .. ":" .. wire.item(key, self.label) .. "}"
end

-- One Redis command; a Redis error becomes a Lua error naming the unit and key.
local function command(self, key, ...)
  local reply, problem = self.conn:command(...)
  if reply == nil then
    error(format("%s %s: %s", self.label, tostring(key), tostring(problem)), 3)
  end
  if type(reply) == "table" and reply.type == hiredis.REPLY_ERROR then
    error(format("%s %s: %s", self.label, tostring(key), tostring(reply.name)), 3)
  end
  return reply
end

local function number(reply)
  if reply == hiredis.NIL then return 0 end
  return tonumber(reply) or 0
end

-- statistics: flat state in a hash ----------------------------------------------------

local Flat = {}
Flat.__index = Flat

--- A shared variant of `class` (a unit with `fields`) whose updates run in the
--- Redis function `fn` (which serves them with mle.util.flat). The statistics
--- below are made this way; a library with its own flat units adds them the same way.
function shared.define(class, fn)
  if type(class) ~= "table" or type(class.fields) ~= "table" then
    error("mle.shared.define: the class must have flat state (fields)", 2)
  end
  local label = "shared." .. class.name:gsub("^%w+%.", "")
  return function(opts)
    local all, own = split_options(label, class.options, opts)
    local self = base(label, all, Flat)
    self.class, self.fn = class, fn
    self.prototype = class.new(own).state
    local options = {}
    for k, v in pairs(own) do
      options[#options + 1] = k
      options[#options + 1] = flat.encode(v)
    end
    self.options = options
    return self
  end
end

-- a local unit of the class whose fields are the numbers in `texts` from `first` on
local function rebuild(self, texts, first)
  local state = {}
  for k, v in pairs(self.prototype) do state[k] = v end
  for i, field in ipairs(self.class.fields) do
    local text = texts[first + i - 1]
    if text ~= nil then state[field] = wire.decode(text) end
  end
  return self.class.from_state(state)
end

--- Apply `verb` to the instance for `key` in one FCALL. Returns what the verb
--- returns, then the unit before and after.
function Flat:apply(verb, key, ...)
  local args = { "FCALL", self.fn, "1", redis_key(self, key), self.class.name, verb, self.ttl,
                 wire.encode(#self.options / 2) }
  for _, v in ipairs(self.options) do args[#args + 1] = v end
  for i = 1, select("#", ...) do args[#args + 1] = flat.encode((select(i, ...))) end
  local reply = command(self, key, unpack(args))
  local texts = {}
  for text in reply[1]:gmatch("%S+") do texts[#texts + 1] = text end
  local n = #reply - 1
  local out = {}
  for i = 1, n do out[i] = flat.decode(reply[1 + i]) end
  out[n + 1] = rebuild(self, texts, 1)
  out[n + 2] = rebuild(self, texts, 1 + #self.class.fields)
  return unpack(out, 1, n + 2)
end

function Flat:update(key, ...) return self:apply("update", key, ...) end
function Flat:revert(key, ...) return self:apply("revert", key, ...) end
function Flat:learn_one(key, ...) return self:apply("learn_one", key, ...) end
function Flat:score_learn(key, ...) return self:apply("score_learn", key, ...) end

--- The instance for `key` as a local unit (a fresh one if Redis has none), unchanged.
function Flat:get(key)
  local reply = command(self, key, "HMGET", redis_key(self, key), unpack(self.class.fields))
  local texts = {}
  for i = 1, #self.class.fields do
    if type(reply[i]) == "string" then texts[i] = reply[i] end
  end
  return rebuild(self, texts, 1)
end

--- The Redis key holding the instance for `key`.
function Flat:key(key) return redis_key(self, key) end

-- sketches -----------------------------------------------------------------------------

local function sketch(class_module, methods)
  methods.__index = methods
  methods.key = redis_key
  return function(opts)
    local class = require(class_module)
    local label = "shared." .. class.name:gsub("^%w+%.", "")
    local all, own = split_options(label, class.options, opts)
    local self = base(label, all, methods)
    self.class = class
    self.prototype = class.new(own).state
    return self
  end
end

local CountMin = {}

--- Count `item` `w` times (default 1) in the instance for `key`. Returns its estimated count after and the total.
function CountMin:add(key, item, w)
  w = w or 1
  if type(w) ~= "number" or w < 0 or w ~= floor(w) then
    error(self.label .. ":add: the count must be an integer >= 0, got " .. tostring(w), 2)
  end
  local s = self.prototype
  local args = { "FCALL", "mle_cms_add", "1", redis_key(self, key), self.ttl, wire.encode(w) }
  for _, cell in ipairs(self.class.cells_of(s, wire.item(item, self.label))) do args[#args + 1] = wire.encode(cell - 1) end
  args[#args + 1] = wire.encode(s.width * s.depth)
  local reply = command(self, key, unpack(args))
  return reply[1], reply[2]
end

--- The estimated count of `item` in the instance for `key`.
function CountMin:count(key, item)
  local args = { "BITFIELD_RO", redis_key(self, key) }
  for _, cell in ipairs(self.class.cells_of(self.prototype, wire.item(item, self.label))) do
    args[#args + 1] = "GET"
    args[#args + 1] = "i64"
    args[#args + 1] = "#" .. wire.encode(cell - 1)
  end
  local reply = command(self, key, unpack(args))
  local estimate = reply[1]
  for i = 2, #reply do
    if reply[i] < estimate then estimate = reply[i] end
  end
  return estimate
end

shared.CountMin = sketch("mle.sketch.count_min", CountMin)

local Bloom = {}

--- Add `item` to the instance for `key`; returns true if it was new.
function Bloom:add(key, item)
  local args = { "FCALL", "mle_bloom_add", "1", redis_key(self, key), self.ttl }
  for _, p in ipairs(self.class.positions(self.prototype, wire.item(item, self.label))) do
    args[#args + 1] = wire.encode(p)
  end
  return command(self, key, unpack(args)) == 1
end

--- True if `item` was (probably) added to the instance for `key`.
function Bloom:contains(key, item)
  local args = { "BITFIELD_RO", redis_key(self, key) }
  for _, p in ipairs(self.class.positions(self.prototype, wire.item(item, self.label))) do
    args[#args + 1] = "GET"
    args[#args + 1] = "u1"
    args[#args + 1] = wire.encode(p)
  end
  for _, bit in ipairs(command(self, key, unpack(args))) do
    if bit == 0 then return false end
  end
  return true
end

--- Add every item of the list `items` (an indicator list) to the instance for `key`.
function Bloom:add_all(key, items)
  for _, item in ipairs(items) do self:add(key, item) end
end

shared.Bloom = sketch("mle.sketch.bloom", Bloom)

local TopK = {}

--- Count `item` `w` times (default 1) in the instance for `key`. Returns its count after and that count's error.
function TopK:add(key, item, w)
  w = w or 1
  if type(w) ~= "number" or w < 1 or w ~= floor(w) then
    error(self.label .. ":add: the count must be an integer >= 1, got " .. tostring(w), 2)
  end
  local k = redis_key(self, key)
  local reply = command(self, key, "FCALL", "mle_topk_add", "2", k, k .. ":errors", self.ttl,
                        wire.encode(self.prototype.k), wire.encode(w), wire.item(item, self.label))
  return reply[1], reply[2]
end

--- The `n` (default k) most counted items of the instance for `key`: a list of
--- {item = , count = , error = }, as the local TopK:top gives them.
function TopK:top(key, n)
  local k = redis_key(self, key)
  local kept = command(self, key, "ZRANGE", k, "0", "-1", "WITHSCORES")
  local errors = command(self, key, "HGETALL", k .. ":errors")
  local state = self.class.new{ k = self.prototype.k }.state
  for i = 1, #kept, 2 do state.counts[kept[i]] = tonumber(kept[i + 1]) end
  for i = 1, #errors, 2 do state.errors[errors[i]] = tonumber(errors[i + 1]) end
  return self.class.from_state(state):top(n)
end

--- The count kept for `item` in the instance for `key` (0 if it is not kept).
function TopK:count(key, item)
  return number(command(self, key, "ZSCORE", redis_key(self, key), wire.item(item, self.label)))
end

shared.TopK = sketch("mle.sketch.top_k", TopK)

local HyperLogLog = {}

--- Add `item` to the instance for `key` (PFADD, the TTL and PFCOUNT in one
--- command); returns the distinct count after.
function HyperLogLog:add(key, item)
  return command(self, key, "FCALL", "mle_hll_add", "1", redis_key(self, key), self.ttl, wire.item(item, self.label))
end

--- The distinct count of the instance for `key` (PFCOUNT).
function HyperLogLog:count(key)
  return command(self, key, "PFCOUNT", redis_key(self, key))
end

shared.HyperLogLog = sketch("mle.sketch.hyperloglog", HyperLogLog)

-- the statistics, defined when first used
local STATISTICS = {
  Count = "mle.stats.count", Mean = "mle.stats.mean", Var = "mle.stats.var",
  EWMean = "mle.stats.ewmean", EWVar = "mle.stats.ewvar", Decayed = "mle.stats.decayed",
  DecayedCov = "mle.stats.decayed_cov", Min = "mle.stats.min", Max = "mle.stats.max",
  InterArrival = "mle.stats.inter_arrival",
}

return setmetatable(shared, {
  __index = function(_, name)
    local module = STATISTICS[name]
    if module == nil then error("mle.shared has no " .. tostring(name), 2) end
    local constructor = shared.define(require(module), "mle_stats_update")
    rawset(shared, name, constructor)
    return constructor
  end,
})
