-- metrics.Recall: tp / (tp + fn) of binary predictions (0 when undefined),
-- whole stream or the last `window` events, as River's metrics.Recall.
--   local r = metrics.Recall(); r:update(y_true, y_pred); r:get()
local Confusion = require "mle.metrics.confusion"

return Confusion.metric("metrics.Recall", "mle.metrics.recall", Confusion.recall)
