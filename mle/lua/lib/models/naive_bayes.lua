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
-- probabilities are these normalised (log-sum-exp). Labels may be strings, numbers or
-- booleans; the state counts by class index (state.classes[k] is class k).

local unit = require "mle.util.unit"

local NB = unit.class{
  name = "models.MultinomialNB", module = "mle.models.naive_bayes", kind = "classifier",
  options = { alpha = unit.number{ default = 1, min = 0 } },
}

local log, exp = math.log, math.exp

function NB.init(s)
  s.classes = {}         -- class labels in the order first seen; class k is classes[k]
  s.class_counts = {}    -- events per class k
  s.class_totals = {}    -- summed token counts per class k
  s.feature_counts = {}  -- feature -> {k -> summed count}
  s.n_terms = 0          -- distinct features learnt
end

-- the index of label y (added when new and `add`)
local function class_index(s, y, add)
  for k, c in ipairs(s.classes) do
    if c == y then return k end
  end
  if not add then return nil end
  local k = #s.classes + 1
  s.classes[k], s.class_counts[k], s.class_totals[k] = y, 0, 0
  return k
end

function NB:learn_one(x, y)
  local s = self.state
  if y == nil then error("models.MultinomialNB: learn_one needs a class label", 2) end
  local k = class_index(s, y, true)
  s.class_counts[k] = s.class_counts[k] + 1
  for f, count in pairs(x) do
    local per_class = s.feature_counts[f]
    if per_class == nil then
      per_class = {}
      s.feature_counts[f] = per_class
      s.n_terms = s.n_terms + 1
    end
    per_class[k] = (per_class[k] or 0) + count
    s.class_totals[k] = s.class_totals[k] + count
  end
end

--- log P(c) + log P(x | c) for every class, in the order of state.classes.
function NB:joint_log_likelihood(x)
  local s = self.state
  local n = 0
  for k = 1, #s.classes do n = n + s.class_counts[k] end
  local out = {}
  for k = 1, #s.classes do
    local ll = log(s.class_counts[k] / n)
    local denominator = s.class_totals[k] + s.alpha * s.n_terms
    for f, count in pairs(x) do
      local per_class = s.feature_counts[f]
      ll = ll + count * log(((per_class and per_class[k] or 0) + s.alpha) / denominator)
    end
    out[k] = ll
  end
  return out
end

-- the probabilities by class index
local function probabilities(self, x)
  local jll = self:joint_log_likelihood(x)
  local top = -math.huge
  for _, ll in ipairs(jll) do if ll > top then top = ll end end
  local sum = 0
  for _, ll in ipairs(jll) do sum = sum + exp(ll - top) end
  local lse = top + log(sum)
  local p = {}
  for k, ll in ipairs(jll) do p[k] = exp(ll - lse) end
  return p
end

--- {class = probability}; empty before anything was learnt.
function NB:predict_proba_one(x)
  local out = {}
  for k, p in ipairs(probabilities(self, x)) do out[self.state.classes[k]] = p end
  return out
end

--- The most probable class (the first learnt on ties); nil before anything was learnt.
function NB:predict_one(x)
  local best, best_p = nil, -1
  for k, p in ipairs(probabilities(self, x)) do
    if p > best_p then best, best_p = self.state.classes[k], p end
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
