-- metrics.Confusion: the binary confusion counts (true/false positives and
-- negatives) of predictions against labels, over the whole stream or the last
-- `window` events, as River's binary metrics count them. Labels are booleans (1
-- and 0 are taken as true and false). metrics.Precision, Recall, F1 and Accuracy
-- are this with another get().
--   local c = metrics.Confusion{window = 1000}; c:update(true, false)
--   c:get() --> {tp = 0, fp = 0, tn = 0, fn = 1}; c:precision(); c:recall(); c:f1(); c:accuracy()
local unit = require "mle.util.unit"
local window = require "mle.util.window"

local Confusion = unit.class{
  name = "metrics.Confusion", module = "mle.metrics.confusion", kind = "metric", input = "label",
  options = { window = unit.number{ optional = true, min = 1, integer = true } },
}

local function truth(y) return y == true or y == 1 end

function Confusion.init(s)
  s.tp, s.fp, s.tn, s.fn = 0, 0, 0, 0
  if s.window then s.recent = window.new(s.window) end
end

local function count(s, y_true, y_pred, d)
  if truth(y_true) then
    if truth(y_pred) then s.tp = s.tp + d else s.fn = s.fn + d end
  elseif truth(y_pred) then
    s.fp = s.fp + d
  else
    s.tn = s.tn + d
  end
end

--- Count a prediction `y_pred` of label `y_true`.
function Confusion:update(y_true, y_pred)
  local s = self.state
  count(s, y_true, y_pred, 1)
  if s.recent then
    local full, old_true, old_pred = window.push(s.recent, truth(y_true), truth(y_pred))
    if full then count(s, old_true, old_pred, -1) end
  end
end

--- Take back a prediction counted with update (whole-stream counts only).
function Confusion:revert(y_true, y_pred)
  count(self.state, y_true, y_pred, -1)
end

function Confusion:get()
  local s = self.state
  return { tp = s.tp, fp = s.fp, tn = s.tn, fn = s.fn }
end

local function ratio(a, b)
  if b == 0 then return 0 end
  return a / b
end

local function precision(s) return ratio(s.tp, s.tp + s.fp) end
local function recall(s) return ratio(s.tp, s.tp + s.fn) end

function Confusion:precision() return precision(self.state) end
function Confusion:recall() return recall(self.state) end

function Confusion:f1()
  local p, r = precision(self.state), recall(self.state)
  return ratio(2 * p * r, p + r)
end

function Confusion:accuracy()
  local s = self.state
  return ratio(s.tp + s.tn, s.tp + s.fp + s.tn + s.fn)
end

--- A metric class that is the confusion counts with `getter` as its get().
function Confusion.metric(name, module, getter)
  local C = unit.class{ name = name, module = module, kind = "metric", input = "label", options = Confusion.options }
  C.init, C.update, C.revert = Confusion.init, Confusion.update, Confusion.revert
  C.counts = Confusion.get
  C.get = getter
  return C
end

return Confusion
