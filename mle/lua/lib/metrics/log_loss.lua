-- metrics.LogLoss: the mean binary cross-entropy of predicted probabilities
-- (clamped to [1e-15, 1 - 1e-15]), whole stream or the last `window` events, as
-- River's metrics.LogLoss.
--   local l = metrics.LogLoss(); l:update(true, 0.9); l:get() --> 0.105
local unit = require "mle.util.unit"
local window = require "mle.util.window"

local LogLoss = unit.class{
  name = "metrics.LogLoss", module = "mle.metrics.log_loss", kind = "metric",
  options = { window = unit.number{ optional = true, min = 1, integer = true } },
}

local log = math.log

function LogLoss.init(s)
  s.n, s.mean = 0, 0
  if s.window then s.recent = window.new(s.window) end
end

local function loss(y_true, p)
  if p > 1 - 1e-15 then p = 1 - 1e-15 end
  if p < 1e-15 then p = 1e-15 end
  if y_true == true or y_true == 1 then return -log(p) end
  return -log(1 - p)
end

local function add(s, x)
  s.n = s.n + 1
  s.mean = s.mean + (1 / s.n) * (x - s.mean)
end

local function remove(s, x)
  s.n = s.n - 1
  if s.n == 0 then s.mean = 0 else s.mean = s.mean - (1 / s.n) * (x - s.mean) end
end

--- Count probability `p` (of the positive class) predicted for label `y_true`.
function LogLoss:update(y_true, p)
  local s = self.state
  local x = loss(y_true, p)
  if s.recent then
    local full, old = window.push(s.recent, x, true)
    if full then remove(s, old) end
  end
  add(s, x)
end

--- Take back a prediction counted with update (whole-stream counts only).
function LogLoss:revert(y_true, p) remove(self.state, loss(y_true, p)) end

function LogLoss:get() return self.state.mean end

return LogLoss
