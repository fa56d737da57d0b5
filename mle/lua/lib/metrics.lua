-- mle.metrics: progressive validation and its metrics, one module each under
-- mle/lua/lib/metrics/, loaded when first used:
-- `local metrics = require "mle.metrics"; local eval = metrics.Progressive{model = m}`.
local modules = {
  Progressive = "mle.metrics.progressive", Confusion = "mle.metrics.confusion",
  Accuracy = "mle.metrics.accuracy", Precision = "mle.metrics.precision", Recall = "mle.metrics.recall",
  F1 = "mle.metrics.f1", LogLoss = "mle.metrics.log_loss", ROCAUC = "mle.metrics.roc_auc",
  RollingROCAUC = "mle.metrics.rolling_roc_auc",
}

return setmetatable({}, {
  __index = function(topic, name)
    local module = modules[name]
    if module == nil then error("mle.metrics has no " .. tostring(name), 2) end
    local class = require(module)
    rawset(topic, name, class)
    return class
  end,
})
