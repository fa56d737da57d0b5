-- Half-Space Trees (Tan, Ting & Liu 2011), as River's anomaly.HalfSpaceTrees.
--
--   local hst = require("mle.anomaly.hst"){n_trees = 10, height = 8, window_size = 250,
--                                         limits = {bytes = {0, 1e6}}, seed = 42}
--   local s = hst:score_learn({bytes = 1200, pkts = 0.3})   -- in [0, 1], higher = rarer
--
-- Each tree splits the feature space at random: a node picks a feature (weighted by
-- the width of its range, `limits`, default [0, 1]) and a threshold drawn uniformly
-- in the middle 70 % of the node's range. Trees are built from the features of the
-- first vector learnt (or given whole as `trees`). Every node counts the vectors that
-- reach it in the latest window (l) and in the reference window (r); every
-- `window_size` vectors the latest window becomes the reference. A vector's score
-- sums r * 2^depth along its path (stopping at nodes with r < 0.1 * window_size) and
-- is flipped and normalised as River does:
--   score = 1 - sum / (n_trees * window_size * (2^(height+1) - 1)); 0 in the first window.
-- A feature missing from a vector sends it to the child with the larger l (left on ties).
--
-- Nodes are numbered in heap order: node i has children 2i and 2i+1; nodes
-- 1 .. 2^height - 1 split, 2^height .. 2^(height+1) - 1 are leaves.
-- This file runs in the engine (Lua 5.4, LuaJIT) and inside Redis (Lua 5.1):
-- mle/lua/redis/anomaly.lua includes it, with a store that keeps the nodes in Redis.

local HST = {}
HST.__index = HST
setmetatable(HST, {__call = function(cls, opts) return cls.new(opts) end})

local floor = math.floor

local function check_integer(opts, name, default, min)
  local v = opts[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= floor(v) or v < min then
    error(string.format("HalfSpaceTrees: option %s must be an integer >= %d, got %s", name, min, tostring(v)), 4)
  end
  return v
end

-- Park-Miller "minimal standard" generator: exact in doubles on every Lua.
local MODULUS = 2147483647
local function next_uniform(state)
  state.rng = (16807 * state.rng) % MODULUS
  return state.rng / MODULUS
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- Draw the splits of one tree: node i of a tree of this height, over ranges
-- lo/hi by feature (narrowed along the way); fills features[i] and thresholds[i].
local function grow(state, features, thresholds, names, lo, hi, i, depth)
  if depth == state.height then return end
  local total = 0
  for _, f in ipairs(names) do total = total + (hi[f] - lo[f]) end
  local pick, on = next_uniform(state) * total, names[#names]
  for _, f in ipairs(names) do
    pick = pick - (hi[f] - lo[f])
    if pick < 0 then on = f; break end
  end
  local a, b = lo[on], hi[on]
  local at = a + 0.15 * (b - a) + next_uniform(state) * 0.7 * (b - a)
  features[i], thresholds[i] = on, at
  hi[on] = at
  grow(state, features, thresholds, names, lo, hi, 2 * i, depth + 1)
  hi[on], lo[on] = b, at
  grow(state, features, thresholds, names, lo, hi, 2 * i + 1, depth + 1)
  lo[on] = a
end

--- Build random trees over the features of x (sorted by name) and the state's limits.
-- Returns {features = {...}, thresholds = {...}} per tree (heap order).
function HST.draw_trees(state, x)
  local names, lo, hi = sorted_keys(x), {}, {}
  for _, f in ipairs(names) do
    local range = state.limits[f]
    lo[f], hi[f] = range and range[1] or 0, range and range[2] or 1
  end
  local trees = {}
  for t = 1, state.n_trees do
    local features, thresholds = {}, {}
    grow(state, features, thresholds, names, lo, hi, 1, 0)
    trees[t] = {features = features, thresholds = thresholds}
  end
  return trees
end

--- The options of a new detector as its state (no trees yet unless opts.trees).
function HST.new_state(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("HalfSpaceTrees: options must be a table", 3) end
  local state = {
    n_trees = check_integer(opts, "n_trees", 10, 1),
    height = check_integer(opts, "height", 8, 1),
    window_size = check_integer(opts, "window_size", 250, 1),
    rng = check_integer(opts, "seed", 42, 0) % (MODULUS - 1) + 1,
    limits = {},
    counter = 0,
    windows = 0,
  }
  for f, range in pairs(opts.limits or {}) do
    if type(range) ~= "table" or type(range[1]) ~= "number" or type(range[2]) ~= "number" or range[1] >= range[2] then
      error("HalfSpaceTrees: limits." .. tostring(f) .. " must be {low, high} with low < high", 3)
    end
    state.limits[f] = {range[1], range[2]}
  end
  if opts.trees ~= nil then
    local inner = 2 ^ state.height - 1
    if type(opts.trees) ~= "table" or #opts.trees ~= state.n_trees then
      error("HalfSpaceTrees: option trees must hold n_trees = " .. state.n_trees .. " trees", 3)
    end
    for t, tree in ipairs(opts.trees) do
      if type(tree.features) ~= "table" or type(tree.thresholds) ~= "table"
        or #tree.features ~= inner or #tree.thresholds ~= inner then
        error(string.format("HalfSpaceTrees: trees[%d] needs features and thresholds for %d nodes (height %d)",
          t, inner, state.height), 3)
      end
    end
    state.trees = opts.trees
  end
  return state
end

-- The walks, over a store: store:split(t, i) -> feature, threshold; store:l(t, i),
-- store:r(t, i) -> masses; store:add_l(t, i) adds one to the latest mass.

local function child(store, t, i, x)
  local feature, threshold = store:split(t, i)
  local value = x[feature]
  if value == nil then
    if store:l(t, 2 * i) < store:l(t, 2 * i + 1) then return 2 * i + 1 end
    return 2 * i
  end
  if value < threshold then return 2 * i end
  return 2 * i + 1
end

--- Count x in the latest window of every tree.
function HST.walk_learn(store, state, x)
  for t = 1, state.n_trees do
    local i = 1
    for _ = 1, state.height do
      store:add_l(t, i)
      i = child(store, t, i, x)
    end
    store:add_l(t, i)
  end
end

--- River's score of x against the reference window (0 during the first window).
function HST.walk_score(store, state, x)
  if state.windows == 0 then return 0 end
  local size_limit, height = 0.1 * state.window_size, state.height
  local total = 0
  for t = 1, state.n_trees do
    local i, weight, score, stopped = 1, 1, 0, false
    for _ = 1, height do
      local r = store:r(t, i)
      score = score + r * weight
      if r < size_limit then stopped = true; break end
      i = child(store, t, i, x)
      weight = weight * 2
    end
    if not stopped then score = score + store:r(t, i) * weight end
    total = total + score
  end
  return 1 - total / (state.n_trees * state.window_size * (2 ^ (height + 1) - 1))
end

--- After one more vector: true when the window is full (the store must pivot:
-- reference := latest, latest := 0).
function HST.tick(state)
  state.counter = state.counter + 1
  if state.counter == state.window_size then
    state.counter = 0
    state.windows = state.windows + 1
    return true
  end
  return false
end

-- The local store: masses in state.l[t][i] / state.r[t][i].
function HST:split(t, i)
  local tree = self.state.trees[t]
  return tree.features[i], tree.thresholds[i]
end
function HST:l(t, i) return self.state.l[t][i] or 0 end
function HST:r(t, i) return self.state.r[t][i] or 0 end
function HST:add_l(t, i)
  local l = self.state.l[t]
  l[i] = (l[i] or 0) + 1
end

local function ensure_masses(state)
  if state.l == nil then
    state.l, state.r = {}, {}
    for t = 1, state.n_trees do state.l[t], state.r[t] = {}, {} end
  end
end

--- A new detector (see the header for the options).
function HST.new(opts)
  local state = HST.new_state(opts)
  ensure_masses(state)
  return setmetatable({state = state}, HST)
end

--- Rebuild a detector from its state (`d.state`).
function HST.from_state(state)
  return setmetatable({state = state}, HST)
end

function HST:learn_one(x)
  local state = self.state
  if state.trees == nil then state.trees = HST.draw_trees(state, x) end
  HST.walk_learn(self, state, x)
  if HST.tick(state) then
    state.r, state.l = state.l, {}
    for t = 1, state.n_trees do state.l[t] = {} end
  end
end

function HST:score_one(x)
  if self.state.trees == nil then return 0 end
  return HST.walk_score(self, self.state, x)
end

--- Score x, then learn it: one call.
function HST:score_learn(x)
  local s = self:score_one(x)
  self:learn_one(x)
  return s
end

return HST
