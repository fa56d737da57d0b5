-- mle.stats: the statistics, one module each under mle/lua/lib/stats/, loaded
-- when first used: `local stats = require "mle.stats"; local m = stats.Mean()`.
local modules = {
  Count = "mle.stats.count", Mean = "mle.stats.mean", Var = "mle.stats.var",
  EWMean = "mle.stats.ewmean", EWVar = "mle.stats.ewvar",
  Decayed = "mle.stats.decayed", DecayedCov = "mle.stats.decayed_cov",
  Min = "mle.stats.min", Max = "mle.stats.max",
  Quantile = "mle.stats.quantile", MAD = "mle.stats.mad", Histogram = "mle.stats.histogram",
  Entropy = "mle.stats.entropy", InterArrival = "mle.stats.inter_arrival",
}

return setmetatable({}, {
  __index = function(topic, name)
    local module = modules[name]
    if module == nil then error("mle.stats has no " .. tostring(name), 2) end
    local class = require(module)
    rawset(topic, name, class)
    return class
  end,
})
