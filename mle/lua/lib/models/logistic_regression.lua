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

local LR = {}
LR.__index = LR
setmetatable(LR, {__call = function(cls, opts) return cls.new(opts) end})

local exp = math.exp

local function number_option(opts, name, default, ok, rule)
  local v = opts[name]
  if v == nil then return default end
  if type(v) ~= "number" or not ok(v) then
    error(string.format("LogisticRegression: option %s must be %s, got %s", name, rule, tostring(v)), 4)
  end
  return v
end

local function positive(v) return v > 0 end
local function non_negative(v) return v >= 0 end
local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

--- The options of a new model as its state.
function LR.new_state(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("LogisticRegression: options must be a table", 3) end
  local schedule = opts.schedule or "constant"
  if schedule ~= "constant" and schedule ~= "inverse_scaling" then
    error("LogisticRegression: option schedule must be \"constant\" or \"inverse_scaling\", got "
      .. tostring(schedule), 3)
  end
  return {
    lr = number_option(opts, "lr", 0.01, positive, "a number > 0"),
    schedule = schedule,
    power = number_option(opts, "power", 0.5, non_negative, "a number >= 0"),
    l2 = number_option(opts, "l2", 0, non_negative, "a number >= 0"),
    intercept_lr = number_option(opts, "intercept_lr", 0.01, non_negative, "a number >= 0"),
    clip_gradient = number_option(opts, "clip_gradient", 1e12, positive, "a number > 0"),
    intercept = number_option(opts, "intercept_init", 0, finite, "a finite number"),
    n = 0,
    weights = {},
  }
end

--- A new model (options in the header).
function LR.new(opts)
  return setmetatable({state = LR.new_state(opts)}, LR)
end

--- Rebuild a model from its state (`m.state`); the shared variant passes a state
-- holding only the weights of the features it needs.
function LR.from_state(state)
  return setmetatable({state = state}, LR)
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
  error("LogisticRegression: label must be true/false or 1/0, got " .. tostring(y), 3)
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
