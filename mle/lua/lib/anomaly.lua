-- mle.anomaly: anomaly detectors, one module each under mle/lua/lib/anomaly/, loaded
-- when first used. d:learn_one(x), d:score_one(x) (higher = more anomalous, in
-- [0, 1]), d:score_learn(x) = score, then learn.
--   local anomaly = require "mle.anomaly"
--   local hst = anomaly.HalfSpaceTrees{n_trees = 10, height = 8, window_size = 250}
local modules = {
  HalfSpaceTrees = "mle.anomaly.hst", ZScore = "mle.anomaly.zscore",
  MAD = "mle.anomaly.mad", Rarity = "mle.anomaly.rarity",
}

return setmetatable({}, {
  __index = function(topic, name)
    local module = modules[name]
    if module == nil then error("mle.anomaly has no " .. tostring(name), 2) end
    local class = require(module)
    rawset(topic, name, class)
    return class
  end,
})
