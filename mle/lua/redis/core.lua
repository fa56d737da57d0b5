#!lua name=mle_core
-- MLE's core server-side functions (Redis Lua 5.1). Loaded by the engine at start
-- (mle/redis/functions.py); scripts call mle_* functions without allow_eval.

-- The version of MLE's function libraries: lets an engine see which libraries a
-- shared Redis holds.
redis.register_function{
  function_name = "mle_version",
  callback = function() return "1" end,
  flags = { "no-writes" },
}
