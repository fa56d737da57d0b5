-- mle.drift: the drift detectors, one module each under mle/lua/lib/drift/, loaded
-- when first used: `local drift = require "mle.drift"; local d = drift.ADWIN()`.
local modules = { ADWIN = "mle.drift.adwin", PageHinkley = "mle.drift.page_hinkley" }

return setmetatable({}, {
  __index = function(topic, name)
    local module = modules[name]
    if module == nil then error("mle.drift has no " .. tostring(name), 2) end
    local class = require(module)
    rawset(topic, name, class)
    return class
  end,
})
