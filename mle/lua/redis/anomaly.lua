#!lua name=mle_anomaly
-- The shared anomaly detectors of the mle library (mle.shared.hst, mle.shared.rarity):
-- one FCALL scores and learns, running the modules the engine runs locally.

local HST = include("anomaly/hst")
local Rarity = include("anomaly/rarity")
local wire = include("util/wire")

local function expire(ttl, ...)
  ttl = tonumber(ttl) or 0
  if ttl > 0 then
    for i = 1, select("#", ...) do redis.call("PEXPIRE", (select(i, ...)), math.floor(ttl * 1000)) end
  end
end

local VERBS = { score_learn = true, score_one = true, learn_one = true }

-- Half-Space Trees in Redis. KEYS[1]: a hash of the options, counters and splits
-- ("s<tree>.<node>" = feature NUL threshold); KEYS[2], KEYS[3]: the masses of the
-- two windows ("<tree>.<node>" = count; field "latest" of KEYS[1] says which is the
-- latest). ARGV: ttl, verb, n_trees, height, window_size, seed, the number of limits,
-- (feature, low, high) per limit, then (feature, value) pairs. Reply: the score
-- ("" for learn_one). The trees are drawn from the first vector learnt, with the
-- generator and seed a local mle.anomaly.hst uses, so both draw the same trees.
local Store = {}
Store.__index = Store

function Store:split(t, i)
  local field = "s" .. t .. "." .. i
  local cached = self.splits[field]
  if cached == nil then
    local text = redis.call("HGET", self.base, field)
    local cut = string.find(text, "\0", 1, true)
    cached = { string.sub(text, 1, cut - 1), tonumber(string.sub(text, cut + 1)) }
    self.splits[field] = cached
  end
  return cached[1], cached[2]
end
function Store:l(t, i) return tonumber(redis.call("HGET", self.latest, t .. "." .. i) or "0") or 0 end
function Store:r(t, i) return tonumber(redis.call("HGET", self.reference, t .. "." .. i) or "0") or 0 end
function Store:add_l(t, i) redis.call("HINCRBY", self.latest, t .. "." .. i, 1) end

local META = { "n_trees", "height", "window_size", "counter", "windows", "latest" }

local function create(base, options, x)
  local state = HST.new(options).state
  local trees = HST.draw_trees(state, x)
  local write = { "HSET", base }
  local function flush()
    if #write > 2 then redis.call(unpack(write)) end
    write = { "HSET", base }
  end
  for t, tree in ipairs(trees) do
    for i, feature in ipairs(tree.features) do
      write[#write + 1] = "s" .. t .. "." .. i
      write[#write + 1] = feature .. "\0" .. wire.encode(tree.thresholds[i])
      if #write >= 2000 then flush() end
    end
  end
  flush()
  redis.call("HSET", base, "n_trees", state.n_trees, "height", state.height, "window_size", state.window_size,
    "counter", 0, "windows", 0, "latest", 0)
  return { n_trees = state.n_trees, height = state.height, window_size = state.window_size,
           counter = 0, windows = 0, latest = 0 }
end

redis.register_function{
  function_name = "mle_hst_score_learn",
  callback = function(keys, args)
    local verb = args[2]
    if not VERBS[verb] then return redis.error_reply("ERR mle_hst_score_learn: unknown verb " .. tostring(verb)) end
    local options = { n_trees = tonumber(args[3]), height = tonumber(args[4]), window_size = tonumber(args[5]),
                      seed = tonumber(args[6]) }
    local n_limits, at = tonumber(args[7]), 8
    if n_limits > 0 then
      options.limits = {}
      for _ = 1, n_limits do
        options.limits[args[at]] = { wire.decode(args[at + 1]), wire.decode(args[at + 2]) }
        at = at + 3
      end
    end
    local x = {}
    for i = at, #args, 2 do x[args[i]] = wire.decode(args[i + 1]) end
    local meta = redis.call("HMGET", keys[1], unpack(META))
    local state
    if not meta[1] then
      if verb == "score_one" then return "0" end
      state = create(keys[1], options, x)
    else
      state = {}
      for i, name in ipairs(META) do state[name] = tonumber(meta[i]) end
    end
    local store = setmetatable({ base = keys[1], splits = {} }, Store)
    store.latest, store.reference = keys[2 + state.latest], keys[3 - state.latest]
    local score = ""
    if verb ~= "learn_one" then score = wire.encode(HST.walk_score(store, state, x)) end
    if verb ~= "score_one" then
      HST.walk_learn(store, state, x)
      if HST.tick(state) then
        redis.call("DEL", store.reference)  -- the latest window becomes the reference
        state.latest = 1 - state.latest
      end
      redis.call("HSET", keys[1], "counter", state.counter, "windows", state.windows, "latest", state.latest)
      expire(args[1], keys[1], keys[2], keys[3])
    end
    return score
  end,
}

-- Rarity in Redis. KEYS[1]: a hash "n" = values counted, "d" = distinct values,
-- "v:<value>" = count. ARGV: ttl, verb, alpha, value. Reply: the score ("" for learn_one).
redis.register_function{
  function_name = "mle_rarity_score_learn",
  callback = function(keys, args)
    local verb, alpha, value = args[2], tonumber(args[3]), args[4]
    if not VERBS[verb] then return redis.error_reply("ERR mle_rarity_score_learn: unknown verb " .. tostring(verb)) end
    local stored = redis.call("HMGET", keys[1], "n", "d", "v:" .. value)
    local score = ""
    if verb ~= "learn_one" then
      local total = tonumber(stored[1] or "0") or 0
      if total == 0 then
        score = "0"
      else
        score = wire.encode(Rarity.score(alpha, tonumber(stored[3] or "0") or 0, total, tonumber(stored[2]) or 0))
      end
    end
    if verb ~= "score_one" then
      if redis.call("HINCRBY", keys[1], "v:" .. value, 1) == 1 then redis.call("HINCRBY", keys[1], "d", 1) end
      redis.call("HINCRBY", keys[1], "n", 1)
      expire(args[1], keys[1])
    end
    return score
  end,
}
