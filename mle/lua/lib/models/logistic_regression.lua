-- Logistic regression learnt online by one pass of SGD, as River's
-- linear_model.LogisticRegression(optimizer=optim.SGD(lr), l2=l2).
--
--   local LR = require "mle.models.logistic_regression"
--   local m = LR{lr = 0.1, l2 = 1e-4, schedule = "inverse_scaling", power = 0.5}
--   local p = m:score_learn({len = 0.3, digits = 0.1}, is_dga)   -- P(y) before learning
--
-- Options: lr (0.01), schedule "constant" (lr) or "inverse_scaling" (lr / (t + 1)^power,
-- t = updates so far), power (0.5), l2 (0; applied to the weights of the features
-- present, as River does), intercept_lr (0.01, constant; 0 = fixed intercept),
-- intercept_init (0), clip_gradient (1e12). Labels: true/1 positive, false/0 negative.
-- Features are sparse: {name = value}; hashed features (mle.models.hashing) work the same.
--
-- One update, with g = dLogLoss/dlogit (River's Log loss, clipped):
--   intercept -= intercept_lr * g;   w_j -= rate_t * (g * x_j + l2 * w_j) for j in x

local unit = require "mle.util.unit"

local LR = unit.class{
  name = "models.LogisticRegression", module = "mle.models.logistic_regression", kind = "classifier",
  options = {
    lr = unit.number{ default = 0.01, min = 0, min_open = true },
    schedule = unit.one_of{ default = "constant", values = { "constant", "inverse_scaling" } },
    power = unit.number{ default = 0.5, min = 0 },
    l2 = unit.number{ default = 0, min = 0 },
    intercept_lr = unit.number{ default = 0.01, min = 0 },
    intercept_init = unit.number{ default = 0, min = -math.huge, max = math.huge, min_open = true, max_open = true },
    clip_gradient = unit.number{ default = 1e12, min = 0, min_open = true },
  },
}

local exp = math.exp

function LR.init(s)
  s.intercept, s.n, s.weights = s.intercept_init, 0, {}
end

--- The logit: weights . x + intercept.
function LR:raw_one(x)
  local w, dot = self.state.weights, 0
  for j, v in pairs(x) do
    local wj = w[j]
    if wj then dot = dot + wj * v end
  end
  return dot + self.state.intercept
end

-- River's utils.math.sigmoid
local function sigmoid(z)
  if z < -30 then return 0 end
  if z > 30 then return 1 end
  return 1 / (1 + exp(-z))
end

--- P(positive | x).
function LR:predict_proba_one(x)
  return sigmoid(self:raw_one(x))
end

--- true when P(positive | x) > 0.5.
function LR:predict_one(x)
  return self:predict_proba_one(x) > 0.5
end

-- River's optim.losses.Log().gradient
local function log_loss_gradient(y, logit)
  local sign = y and 1 or -1
  local z = logit * sign
  if z > 18 then return exp(-z) * -sign end
  if z < -18 then return -sign end
  return -sign / (exp(z) + 1)
end

local function positive_label(y)
  if y == true or y == 1 then return true end
  if y == false or y == 0 then return false end
  error("models.LogisticRegression: label must be true/false or 1/0, got " .. tostring(y), 3)
end

--- One SGD step on (x, y).
function LR:learn_one(x, y)
  local s = self.state
  local g = log_loss_gradient(positive_label(y), self:raw_one(x))
  if g > s.clip_gradient then g = s.clip_gradient elseif g < -s.clip_gradient then g = -s.clip_gradient end
  local rate = s.lr
  if s.schedule == "inverse_scaling" then rate = s.lr / (s.n + 1) ^ s.power end
  s.intercept = s.intercept - s.intercept_lr * g
  local w, l2 = s.weights, s.l2
  for j, v in pairs(x) do
    local wj = w[j] or 0
    w[j] = wj - rate * (v * g + l2 * wj)
  end
  s.n = s.n + 1
end

--- P(positive | x) before learning (x, y), then learn it: one call.
function LR:score_learn(x, y)
  local p = self:predict_proba_one(x)
  self:learn_one(x, y)
  return p
end

return LR
