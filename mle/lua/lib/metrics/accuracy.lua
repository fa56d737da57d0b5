-- metrics.Accuracy: the share of predictions equal to their label (any labels:
-- booleans, strings, numbers), whole stream or the last `window` events, as
-- River's metrics.Accuracy.
--   local a = metrics.Accuracy(); a:update("dns", "dns"); a:update("tls", "dns"); a:get() --> 0.5
local unit = require "mle.util.unit"
local window = require "mle.util.window"

local Accuracy = unit.class{
  name = "metrics.Accuracy", module = "mle.metrics.accuracy", kind = "metric", input = "label",
  options = { window = unit.number{ optional = true, min = 1, integer = true } },
}

function Accuracy.init(s)
  s.n, s.correct = 0, 0
  if s.window then s.recent = window.new(s.window) end
end

--- Count a prediction `y_pred` of label `y_true`.
function Accuracy:update(y_true, y_pred)
  local s = self.state
  local right = y_true == y_pred
  s.n = s.n + 1
  if right then s.correct = s.correct + 1 end
  if s.recent then
    local full, was_right = window.push(s.recent, right, true)
    if full then
      s.n = s.n - 1
      if was_right then s.correct = s.correct - 1 end
    end
  end
end

--- Take back a prediction counted with update (whole-stream counts only).
function Accuracy:revert(y_true, y_pred)
  local s = self.state
  s.n = s.n - 1
  if y_true == y_pred then s.correct = s.correct - 1 end
end

function Accuracy:get()
  local s = self.state
  if s.n == 0 then return 0 end
  return s.correct / s.n
end

return Accuracy
