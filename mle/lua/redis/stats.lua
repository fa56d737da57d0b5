#!lua name=mle_stats
-- The shared statistics of the mle library (mle.shared): each unit's state is a
-- Redis hash of its fields, changed by one FCALL per update that runs the same
-- module the engine runs locally (included below).
--   FCALL mle_stats_update 1 <key> <class> <verb> <ttl> <n options> [<option> <value>]... [<argument>]...
-- (mle/lua/lib/util/flat.lua documents the arguments and the reply.)

local flat = include("util/flat")
local Count = include("stats/count")
local Mean = include("stats/mean")
local Var = include("stats/var")
local EWMean = include("stats/ewmean")
local EWVar = include("stats/ewvar")
local Decayed = include("stats/decayed")
local DecayedCov = include("stats/decayed_cov")
local Min = include("stats/min")
local Max = include("stats/max")
local InterArrival = include("stats/inter_arrival")

local classes -- class name -> class, on the first call (the modules are not there while the library loads)

redis.register_function{
  function_name = "mle_stats_update",
  callback = function(keys, args)
    if classes == nil then
      classes = {}
      for _, class in ipairs({ Count, Mean, Var, EWMean, EWVar, Decayed, DecayedCov, Min, Max, InterArrival }) do
        classes[class.name] = class
      end
    end
    return flat.serve(classes, keys, args)
  end,
}
