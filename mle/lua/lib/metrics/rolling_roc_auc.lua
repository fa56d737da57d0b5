-- metrics.RollingROCAUC: the exact area under the ROC curve over the last
-- `window` events (the Mann-Whitney statistic, ties counted half), any score
-- scale, as River's metrics.RollingROCAUC; 0 while the window holds only one
-- class. get() sorts the window: O(window log window), so ask it when needed.
--   local auc = metrics.RollingROCAUC{window = 1000}; auc:update(false, 0.2); auc:get()
local unit = require "mle.util.unit"
local window = require "mle.util.window"

local RollingROCAUC = unit.class{
  name = "metrics.RollingROCAUC", module = "mle.metrics.rolling_roc_auc", kind = "metric",
  options = { window = unit.number{ default = 1000, min = 1, integer = true } },
}

local sort = table.sort

function RollingROCAUC.init(s) s.recent = window.new(s.window) end

--- Count score `p` given to an event of label `y_true`.
function RollingROCAUC:update(y_true, p)
  window.push(self.state.recent, y_true == true or y_true == 1, p)
end

function RollingROCAUC:get()
  local w = self.state.recent
  local order = {}
  for i = 1, w.count do order[i] = i end
  local labels, scores = w.a, w.b
  sort(order, function(i, j) return scores[i] < scores[j] end)
  -- the rank sum of the positives, tied scores sharing their mean rank
  local positives, rank_sum, i = 0, 0, 1
  while i <= w.count do
    local j = i
    while j < w.count and scores[order[j + 1]] == scores[order[i]] do j = j + 1 end
    local mean_rank = (i + j) / 2
    for k = i, j do
      if labels[order[k]] then
        positives = positives + 1
        rank_sum = rank_sum + mean_rank
      end
    end
    i = j + 1
  end
  local negatives = w.count - positives
  if positives == 0 or negatives == 0 then return 0 end
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
end

return RollingROCAUC
