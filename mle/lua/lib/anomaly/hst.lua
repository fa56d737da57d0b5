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

local unit = require "mle.util.unit"

local MODULUS = 2147483647

local function check_limits(limits)
  for f, range in pairs(limits) do
    if type(range) ~= "table" or type(range[1]) ~= "number" or type(range[2]) ~= "number" or range[1] >= range[2] then
      return "must map every feature to {low, high} with low < high (" .. tostring(f) .. " does not)"
    end
  end
  return nil
end

local HST = unit.class{
  name = "anomaly.HalfSpaceTrees", module = "mle.anomaly.hst", kind = "anomaly",
  options = {
    n_trees = unit.number{ default = 10, min = 1, integer = true },
    height = unit.number{ default = 8, min = 1, integer = true },
    window_size = unit.number{ default = 250, min = 1, integer = true },
    seed = unit.number{ default = 42, min = 0, integer = true },
    limits = unit.table{ optional = true, describe = "a table {feature = {low, high}}", check = check_limits },
    trees = unit.table{ optional = true, describe = "a list of n_trees trees {features = {...}, thresholds = {...}}" },
  },
}

-- Park-Miller "minimal standard" generator: exact in doubles on every Lua.
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
    local range = state.limits and state.limits[f]
    lo[f], hi[f] = range and range[1] or 0, range and range[2] or 1
  end
  local trees = {}
  for _ = 1, state.n_trees do
    local features, thresholds = {}, {}
    grow(state, features, thresholds, names, lo, hi, 1, 0)
    trees[#trees + 1] = {features = features, thresholds = thresholds}
  end
  return trees
end

-- the given trees must fit n_trees and height
local function check_trees(s)
  local inner = 2 ^ s.height - 1
  if #s.trees ~= s.n_trees then
    error(string.format("anomaly.HalfSpaceTrees: option \"trees\" holds %d trees for n_trees = %d",
      #s.trees, s.n_trees), 4)
  end
  for t, tree in ipairs(s.trees) do
    if type(tree) ~= "table" or type(tree.features) ~= "table" or type(tree.thresholds) ~= "table"
      or #tree.features ~= inner or #tree.thresholds ~= inner then
      error(string.format("anomaly.HalfSpaceTrees: option \"trees\": trees[%d] needs features and thresholds "
        .. "for %d nodes (height %d)", t, inner, s.height), 4)
    end
  end
end

--- Fill a fresh state (options checked): no trees until the first vector learnt,
-- unless given; masses l and r per tree.
function HST.init(s)
  if s.trees ~= nil then check_trees(s) end
  s.rng = s.seed % (MODULUS - 1) + 1
  s.counter, s.windows = 0, 0
  s.l, s.r = {}, {}
  for t = 1, s.n_trees do s.l[t], s.r[t] = {}, {} end
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
