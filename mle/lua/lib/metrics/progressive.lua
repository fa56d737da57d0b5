-- metrics.Progressive: progressive validation of an online model. Each event is
-- scored before the model learns from it (so no score uses what later events
-- taught), the score counts in the metrics, then the model learns. The metrics
-- are kept over the whole stream and over the last `window` events: accuracy,
-- precision, recall, F1 (the score read as positive at >= `threshold`), log loss,
-- ROC AUC (River's approximation overall, exact over the window). Until
-- `burn_in` events were learnt, score_learn says the score is not ready: an
-- analyzer should not turn it into a finding.
-- The model is a classifier (predict_proba_one(x), learn_one(x, y)) or an anomaly
-- detector (score_one(x), learn_one(x); the label then only feeds the metrics).
-- Its state is its own: Progressive.from_state(state, model) takes it back.
--   local eval = metrics.Progressive{model = m, burn_in = 1000, window = 5000}
--   local score, ready = eval:score_learn(x, y)
--   if ready and score > 0.9 then mle.finding(msg, score, "...") end
--   eval:get() --> {n = , ready = , overall = {accuracy = , ...}, window = {...}}
local unit = require "mle.util.unit"
local Confusion = require "mle.metrics.confusion"
local LogLoss = require "mle.metrics.log_loss"
local ROCAUC = require "mle.metrics.roc_auc"
local RollingROCAUC = require "mle.metrics.rolling_roc_auc"

local function check_model(m)
  if type(m.learn_one) ~= "function" then return "must have learn_one" end
  if type(m.predict_proba_one) ~= "function" and type(m.score_one) ~= "function" then
    return "must have predict_proba_one or score_one"
  end
  return nil
end

local Progressive = unit.class{
  name = "metrics.Progressive", module = "mle.metrics.progressive", kind = "evaluator",
  external = { "model" },  -- the model keeps its own state
  options = {
    model = unit.table{ describe = "a model (learn_one and predict_proba_one or score_one)", check = check_model },
    burn_in = unit.number{ default = 1000, min = 0, integer = true },
    window = unit.number{ default = 1000, min = 1, integer = true },
    threshold = unit.number{ default = 0.5 },
  },
}

function Progressive.init(s)
  s.n = 0
  s.overall = {
    confusion = Confusion.new().state, log_loss = LogLoss.new().state, roc_auc = ROCAUC.new().state,
  }
  s.recent = {
    confusion = Confusion.new{ window = s.window }.state,
    log_loss = LogLoss.new{ window = s.window }.state,
    roc_auc = RollingROCAUC.new{ window = s.window }.state,
  }
end

local from_state = Progressive.from_state
--- The evaluator whose state is `state`, scoring with `model`.
function Progressive.from_state(state, model)
  local problem = type(model) ~= "table" and "must be a table" or check_model(model)
  if problem then error("metrics.Progressive.from_state: the model " .. problem, 2) end
  local p = from_state(state)
  p.model = model
  return p
end

-- the positive class's probability from predict_proba_one's answer
local function probability(answer)
  if type(answer) == "table" then return answer[true] or answer[1] or 0 end
  return answer
end

--- Score `x`, count the score against label `y`, then learn. Returns the score
--- (made before learning) and whether the model is past its burn-in.
function Progressive:score_learn(x, y)
  local s, model = self.state, self.model
  local score
  if model.predict_proba_one then
    score = probability(model:predict_proba_one(x))
    model:learn_one(x, y)
  else
    score = model:score_one(x)
    model:learn_one(x)
  end
  local ready = s.n >= s.burn_in
  local predicted = score >= s.threshold
  for _, group in pairs{ s.overall, s.recent } do
    Confusion.from_state(group.confusion):update(y, predicted)
    LogLoss.from_state(group.log_loss):update(y, score)
  end
  ROCAUC.from_state(s.overall.roc_auc):update(y, score)
  RollingROCAUC.from_state(s.recent.roc_auc):update(y, score)
  s.n = s.n + 1
  return score, ready
end

local function report(group, auc)
  local c = Confusion.from_state(group.confusion)
  return {
    accuracy = c:accuracy(), precision = c:precision(), recall = c:recall(), f1 = c:f1(),
    log_loss = LogLoss.from_state(group.log_loss):get(), roc_auc = auc,
  }
end

--- The metrics so far.
function Progressive:get()
  local s = self.state
  return {
    n = s.n, ready = s.n >= s.burn_in,
    overall = report(s.overall, ROCAUC.from_state(s.overall.roc_auc):get()),
    window = report(s.recent, RollingROCAUC.from_state(s.recent.roc_auc):get()),
  }
end

return Progressive
