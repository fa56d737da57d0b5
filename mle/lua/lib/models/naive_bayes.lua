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

local unit = require "mle.util.unit"

local NB = unit.class{
  name = "models.MultinomialNB", module = "mle.models.naive_bayes", kind = "classifier",
  options = { alpha = unit.number{ default = 1, min = 0 } },
}

local log, exp = math.log, math.exp

function NB.init(s)
  s.classes = {}         -- class labels in the order first seen
  s.class_counts = {}    -- events per class
  s.class_totals = {}    -- summed token counts per class
  s.feature_counts = {}  -- feature -> {class -> summed count}
  s.n_terms = 0          -- distinct features learnt
end

function NB:learn_one(x, y)
  local s = self.state
  if y == nil then error("models.MultinomialNB: learn_one needs a class label", 2) end
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
