-- metrics.Precision: tp / (tp + fp) of binary predictions (0 when undefined),
-- whole stream or the last `window` events, as River's metrics.Precision.
--   local p = metrics.Precision{window = 1000}; p:update(y_true, y_pred); p:get()
local Confusion = require "mle.metrics.confusion"

return Confusion.metric("metrics.Precision", "mle.metrics.precision", Confusion.precision)
