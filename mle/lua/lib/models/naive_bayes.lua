-- Multinomial naive Bayes for token counts, as River's naive_bayes.MultinomialNB.
--
--   local NB = require "mle.models.naive_bayes"
--   local m = NB{alpha = 1}
--   m:learn_one({get = 1, admin = 2}, "scan")
--   local p = m:predict_proba_one({get = 1, login = 1})   -- {scan = 0.7, benign = 0.3}
--   local label = m:predict_one({get = 1})
--
-- log P(c | x) ~ log(n_c / n) + sum over x of count_f * log((count(f, c) + alpha) /
-- (total(c) + alpha * n_terms)), n_terms = distinct features learnt so far; the
-- probabilities are these normalised (log-sum-exp). Classes are strings or numbers.

local NB = {}
NB.__index = NB
setmetatable(NB, {__call = function(cls, opts) return cls.new(opts) end})

local log, exp = math.log, math.exp

--- A new model; options: alpha (additive smoothing, >= 0, default 1).
function NB.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("MultinomialNB: options must be a table", 3) end
  local alpha = opts.alpha == nil and 1 or opts.alpha
  if type(alpha) ~= "number" or not (alpha >= 0) then
    error("MultinomialNB: option alpha must be a number >= 0, got " .. tostring(opts.alpha), 3)
  end
  return setmetatable({state = {
    alpha = alpha,
    classes = {},         -- class labels in the order first seen
    class_counts = {},    -- events per class
    class_totals = {},    -- summed token counts per class
    feature_counts = {},  -- feature -> {class -> summed count}
    n_terms = 0,          -- distinct features learnt
  }}, NB)
end

--- Rebuild a model from its state (`m.state`); the shared variant passes a state
-- holding only the counts of the features it needs.
function NB.from_state(state)
  return setmetatable({state = state}, NB)
end

function NB:learn_one(x, y)
  local s = self.state
  if y == nil then error("MultinomialNB: learn_one needs a class label", 2) end
  if s.class_counts[y] == nil then
    s.classes[#s.classes + 1] = y
    s.class_counts[y], s.class_totals[y] = 0, 0
  end
  s.class_counts[y] = s.class_counts[y] + 1
  for f, count in pairs(x) do
    local per_class = s.feature_counts[f]
    if per_class == nil then
      per_class = {}
      s.feature_counts[f] = per_class
      s.n_terms = s.n_terms + 1
    end
    per_class[y] = (per_class[y] or 0) + count
    s.class_totals[y] = s.class_totals[y] + count
  end
end

--- log P(c) + log P(x | c) for every class: {class = value}.
function NB:joint_log_likelihood(x)
  local s = self.state
  local n = 0
  for _, c in ipairs(s.classes) do n = n + s.class_counts[c] end
  local out = {}
  for _, c in ipairs(s.classes) do
    local ll = log(s.class_counts[c] / n)
    local denominator = s.class_totals[c] + s.alpha * s.n_terms
    for f, count in pairs(x) do
      local per_class = s.feature_counts[f]
      ll = ll + count * log(((per_class and per_class[c] or 0) + s.alpha) / denominator)
    end
    out[c] = ll
  end
  return out
end

--- {class = probability}; empty before anything was learnt.
function NB:predict_proba_one(x)
  local jll = self:joint_log_likelihood(x)
  local top = -math.huge
  for _, ll in pairs(jll) do if ll > top then top = ll end end
  local sum = 0
  for _, ll in pairs(jll) do sum = sum + exp(ll - top) end
  local lse = top + log(sum)
  local out = {}
  for c, ll in pairs(jll) do out[c] = exp(ll - lse) end
  return out
end

--- The most probable class (the first learnt on ties); nil before anything was learnt.
function NB:predict_one(x)
  local proba, best, best_p = self:predict_proba_one(x), nil, -1
  for _, c in ipairs(self.state.classes) do
    if proba[c] > best_p then best, best_p = c, proba[c] end
  end
  return best
end

--- {class = probability} before learning (x, y), then learn it: one call.
function NB:score_learn(x, y)
  local p = self:predict_proba_one(x)
  self:learn_one(x, y)
  return p
end

return NB
