-- metrics.F1: the harmonic mean of precision and recall (0 when undefined),
-- whole stream or the last `window` events, as River's metrics.F1.
--   local f = metrics.F1{window = 5000}; f:update(y_true, y_pred); f:get()
local Confusion = require "mle.metrics.confusion"

return Confusion.metric("metrics.F1", "mle.metrics.f1", Confusion.f1)
