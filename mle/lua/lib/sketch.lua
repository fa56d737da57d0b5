-- mle.sketch: the sketches, one module each under mle/lua/lib/sketch/, loaded
-- when first used: `local sketch = require "mle.sketch"; local h = sketch.HyperLogLog()`.
local modules = {
  HyperLogLog = "mle.sketch.hyperloglog", CountMin = "mle.sketch.count_min",
  TopK = "mle.sketch.top_k", Bloom = "mle.sketch.bloom",
}

return setmetatable({}, {
  __index = function(topic, name)
    local module = modules[name]
    if module == nil then error("mle.sketch has no " .. tostring(name), 2) end
    local class = require(module)
    rawset(topic, name, class)
    return class
  end,
})
