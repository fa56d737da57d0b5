-- Redis-ML emulation, the engine side: the commands of the dead RedisLabs redis-ml
-- module that old Dragonfly analyzers send (ML.LOGREG.SET dga -2.42 1.99 ...) become
-- calls of MLE's server-side functions (mle/lua/redis/redisml.lua), which keep the
-- models in Redis under the command's key:
--
--   ML.LOGREG.PREDICT dga 3 3 ...   ->   FCALL mle_ml_logreg_predict 1 dga 3 3 ...
--
-- rewrite(argv) takes a command as the list of its words (name first; strings or
-- numbers, passed through as they are) and returns:
--   the FCALL word list answering it, for ML.LINREG.SET/PREDICT, ML.LOGREG.SET/PREDICT,
--   ML.FOREST.ADD/RUN (any letter case);
--   false and an error message for any other ML.* command, or one without a key;
--   nil for every command that is not ML.* (send it unchanged).
-- Pure (no I/O, no globals); Lua 5.1 subset.

local M = {}

local FUNCTIONS = {
  ["ML.LINREG.SET"] = "mle_ml_linreg_set",
  ["ML.LINREG.PREDICT"] = "mle_ml_linreg_predict",
  ["ML.LOGREG.SET"] = "mle_ml_logreg_set",
  ["ML.LOGREG.PREDICT"] = "mle_ml_logreg_predict",
  ["ML.FOREST.ADD"] = "mle_ml_forest_add",
  ["ML.FOREST.RUN"] = "mle_ml_forest_run",
}

--- True when `name` is a redis-ml command name (ML.*, any case).
function M.is_redisml(name)
  return type(name) == "string" and string.upper(string.sub(name, 1, 3)) == "ML."
end

--- The FCALL words answering the redis-ml command `argv` (see the header).
function M.rewrite(argv)
  local name = argv[1]
  if not M.is_redisml(name) then return nil end
  local fn = FUNCTIONS[string.upper(name)]
  if fn == nil then
    return false, "ERR " .. name .. " is not emulated by MLE (ML.LINREG.SET/PREDICT, "
      .. "ML.LOGREG.SET/PREDICT, ML.FOREST.ADD/RUN are)"
  end
  if argv[2] == nil then
    return false, "ERR wrong number of arguments for '" .. string.lower(name) .. "' command"
  end
  local out = { "FCALL", fn, "1" }
  for i = 2, #argv do out[#out + 1] = argv[i] end
  return out
end

return M
