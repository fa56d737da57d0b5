-- metrics.ROCAUC: River's approximation of the area under the ROC curve over
-- the whole stream: confusion counts at `n_thresholds` evenly spaced thresholds
-- in [0, 1] and the trapezoid rule between them (probabilities must lie in
-- [0, 1]). For the exact area over recent events: metrics.RollingROCAUC.
--   local auc = metrics.ROCAUC{n_thresholds = 10}; auc:update(true, 0.8); auc:get()
local unit = require "mle.util.unit"

local ROCAUC = unit.class{
  name = "metrics.ROCAUC", module = "mle.metrics.roc_auc", kind = "metric",
  options = { n_thresholds = unit.number{ default = 10, min = 2, max = 10000, integer = true } },
}

function ROCAUC.init(s)
  local n = s.n_thresholds
  local thresholds = {}
  for i = 0, n - 1 do thresholds[i + 1] = i / (n - 1) end
  thresholds[1] = thresholds[1] - 1e-7
  thresholds[n] = thresholds[n] + 1e-7
  s.thresholds = thresholds
  s.tp, s.fp, s.tn, s.fn = {}, {}, {}, {}
  for i = 1, n do s.tp[i], s.fp[i], s.tn[i], s.fn[i] = 0, 0, 0, 0 end
end

local function count(s, y_true, p, d)
  local positive = y_true == true or y_true == 1
  local thresholds, tp, fp, tn, fn = s.thresholds, s.tp, s.fp, s.tn, s.fn
  for i = 1, s.n_thresholds do
    if p > thresholds[i] then
      if positive then tp[i] = tp[i] + d else fp[i] = fp[i] + d end
    elseif positive then
      fn[i] = fn[i] + d
    else
      tn[i] = tn[i] + d
    end
  end
end

--- Count probability `p` (of the positive class) predicted for label `y_true`.
function ROCAUC:update(y_true, p) count(self.state, y_true, p, 1) end

--- Take back a prediction counted with update.
function ROCAUC:revert(y_true, p) count(self.state, y_true, p, -1) end

function ROCAUC:get()
  local s = self.state
  local tprs, fprs = {}, {}
  for i = 1, s.n_thresholds do
    local tp, fp, tn, fn = s.tp[i], s.fp[i], s.tn[i], s.fn[i]
    tprs[i] = tp + fn > 0 and tp / (tp + fn) or 0
    fprs[i] = fp + tn > 0 and fp / (fp + tn) or 0
  end
  local area = 0
  for i = 1, s.n_thresholds - 1 do area = area + (fprs[i + 1] - fprs[i]) * (tprs[i + 1] + tprs[i]) / 2 end
  return -area
end

return ROCAUC
