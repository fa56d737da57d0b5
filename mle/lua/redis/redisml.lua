#!lua name=mle_redisml
-- The commands of the RedisLabs redis-ml module (dead since 2019) that old Dragonfly
-- analyzers send, answered by MLE: ML.LINREG.SET/PREDICT, ML.LOGREG.SET/PREDICT,
-- ML.FOREST.ADD/RUN. mle/lua/redisml.lua rewrites such a command into an FCALL of
-- these functions (KEYS[1] is the command's key, the arguments follow unchanged).
-- Models live in a Redis hash under the command's key, so every worker shares them;
-- the field "__mle_ml" names the model type ("regression" or "forest"), and a
-- command on a key of the other type gets redis-ml's WRONGTYPE error.
-- Replies as redis-ml's: "OK" for SET/ADD, a double as a bulk string ("%.17g") for
-- PREDICT/RUN.

local WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
local BAD_VECTOR = "ERR Feature vector parsing failed. Format should be : 'key:val,key:val'..."
local MAX_NUM_FIELDS = 1024  -- redis-ml's numeric feature indices run 1 .. 1023

local function fail(message) return redis.error_reply(message) end

local function reply_double(x) return string.format("%.17g", x) end

-- C's atof: the longest numeric prefix, 0 if none
local function atof(s)
  local n = tonumber(s)
  if n then return n end
  local prefix = string.match(s, "^%s*[-+]?%d*%.?%d*[eE][-+]?%d+") or string.match(s, "^%s*[-+]?%d*%.?%d*")
  return tonumber(prefix) or 0
end

-- the model type stored under key: nil (no key), "regression", "forest", or false (another kind of value)
local function model_type(key)
  local kind = redis.call("TYPE", key)
  kind = type(kind) == "table" and kind.ok or kind
  if kind == "none" then return nil end
  if kind ~= "hash" then return false end
  local t = redis.call("HGET", key, "__mle_ml")
  if type(t) ~= "string" then return false end
  return t
end

local function parse_double(s, what)
  local n = tonumber(s)
  if n == nil then error("ERR " .. what .. " is not a number: " .. tostring(s), 0) end
  return n
end

-- ML.LINREG.SET / ML.LOGREG.SET key intercept coefficient...
local function regression_set(keys, args)
  if #args < 2 then return fail("ERR wrong number of arguments: key intercept coefficient...") end
  local t = model_type(keys[1])
  if t ~= nil and t ~= "regression" then return fail(WRONGTYPE) end
  local ok, problem = pcall(function()
    for i = 1, #args do parse_double(args[i], i == 1 and "intercept" or "coefficient " .. (i - 1)) end
  end)
  if not ok then return fail(problem) end
  redis.call("DEL", keys[1])
  redis.call("HSET", keys[1], "__mle_ml", "regression", "coefficients", table.concat(args, " "))
  return redis.status_reply("OK")
end

-- intercept + sum of feature_i * coefficient_i
local function regression_value(keys, args, command)
  local t = model_type(keys[1])
  if t ~= "regression" then return nil, fail(WRONGTYPE) end
  local coefficients = {}
  for word in string.gmatch(redis.call("HGET", keys[1], "coefficients"), "%S+") do
    coefficients[#coefficients + 1] = tonumber(word)
  end
  local n = #coefficients - 1
  if #args ~= n then
    return nil, fail(string.format("ERR %s: %d features for a model of %d coefficients", command, #args, n))
  end
  local p = 0
  for i = 1, n do p = p + atof(args[i]) * coefficients[i + 1] end
  return p + coefficients[1]
end

redis.register_function{
  function_name = "mle_ml_linreg_set",
  callback = regression_set,
}
redis.register_function{
  function_name = "mle_ml_logreg_set",
  callback = regression_set,
}
redis.register_function{
  function_name = "mle_ml_linreg_predict",
  callback = function(keys, args)
    local p, err = regression_value(keys, args, "ML.LINREG.PREDICT")
    if p == nil then return err end
    return reply_double(p)
  end,
  flags = { "no-writes" },
}
redis.register_function{
  function_name = "mle_ml_logreg_predict",
  callback = function(keys, args)
    local m, err = regression_value(keys, args, "ML.LOGREG.PREDICT")
    if m == nil then return err end
    return reply_double(1.0 / (1.0 + math.exp(-m)))
  end,
  flags = { "no-writes" },
}

-- Forests: field "trees" = the number of trees, field "<tree>|<path>" = one node:
--   "N\t<attr>\t<value>" numeric split (attr <= value: left), "C\t<attr>\t<v1:v2:...>"
--   categoric split (attr equal to one of the values: left), "L\t<value>\t<stats>" leaf.

-- a feature name as redis-ml reads it: an integer 1..1023 ("3", "3.0") is numeric field 3
local function attribute(name)
  local n = math.floor(atof(name))
  if n > 0 and n < MAX_NUM_FIELDS then return "#" .. n end
  return name
end

-- parse ML.FOREST.ADD's node list from args[from]; returns nodes {path, spec} or nil, error
local function parse_nodes(args, from)
  local nodes, i = {}, from
  while i <= #args do
    local path, kind = args[i], args[i + 1]
    if kind == nil then return nil, "ERR wrong number of arguments for ML.FOREST.ADD" end
    if string.sub(path, 1, 1) ~= "." or string.find(string.lower(string.sub(path, 2)), "[^lr]") then
      return nil, "ERR Wrong path format"
    end
    path = "." .. string.lower(string.sub(path, 2))
    kind = string.upper(kind)
    local spec
    if kind == "NUMERIC" or kind == "CATEGORIC" then
      local attr, value = args[i + 2], args[i + 3]
      if value == nil then return nil, "ERR wrong number of arguments for ML.FOREST.ADD" end
      if kind == "NUMERIC" then
        if tonumber(value) == nil then return nil, "ERR numeric split value is not a number: " .. value end
        spec = "N\t" .. attribute(attr) .. "\t" .. value
      else
        spec = "C\t" .. attribute(attr) .. "\t" .. value
      end
      i = i + 4
    elseif kind == "LEAF" then
      local value = args[i + 2]
      if value == nil or tonumber(value) == nil then return nil, "ERR leaf value is not a number" end
      local stats = ""
      if args[i + 3] ~= nil and string.upper(args[i + 3]) == "STATS" then
        stats = args[i + 4] or ""
        i = i + 5
      else
        i = i + 3
      end
      spec = "L\t" .. value .. "\t" .. stats
    else
      return nil, "ERR Wrong split type"
    end
    nodes[#nodes + 1] = { path, spec }
  end
  return nodes
end

-- ML.FOREST.ADD key tree path ((NUMERIC|CATEGORIC) attr val | LEAF val [STATS stats])...
redis.register_function{
  function_name = "mle_ml_forest_add",
  callback = function(keys, args)
    local key = keys[1]
    if #args < 3 then return fail("ERR wrong number of arguments for ML.FOREST.ADD") end
    local t = model_type(key)
    if t ~= nil and t ~= "forest" then return fail(WRONGTYPE) end
    local tree = tonumber(args[1])
    local n_trees = tonumber(redis.call("HGET", key, "trees") or "0") or 0
    if tree == nil or tree ~= math.floor(tree) or tree < 0 or tree > n_trees then
      return fail("ERR tree id must be an existing tree or the next one (" .. n_trees .. ")")
    end
    local nodes, problem = parse_nodes(args, 2)
    if nodes == nil then return fail(problem) end
    -- this tree's nodes, changed in memory, checked, then written: a failed ADD changes nothing
    local prefix = string.format("%d|", tree)
    local current = {}
    local fields = redis.call("HKEYS", key)
    for _, field in ipairs(fields) do
      if string.sub(field, 1, #prefix) == prefix then current[string.sub(field, #prefix + 1)] = true end
    end
    local before = {}
    for path in pairs(current) do before[path] = true end
    local specs = {}
    for _, node in ipairs(nodes) do
      local path, spec = node[1], node[2]
      if path ~= "." and not current[string.sub(path, 1, -2)] then
        return fail("ERR node " .. path .. " of tree " .. tree .. " has no parent")
      end
      for other in pairs(current) do  -- a node put at a path replaces its subtree
        if #other > #path and string.sub(other, 1, #path) == path then current[other] = nil end
      end
      current[path] = true
      specs[path] = spec
    end
    for path in pairs(current) do
      local spec = specs[path] or redis.call("HGET", key, prefix .. path)
      if string.sub(spec, 1, 1) ~= "L" and not (current[path .. "l"] and current[path .. "r"]) then
        return fail("ERR tree " .. tree .. " is incomplete: split " .. path .. " needs both children")
      end
    end
    local removed = {}
    for path in pairs(before) do
      if not current[path] then removed[#removed + 1] = prefix .. path end
    end
    for i = 1, #removed, 1000 do
      redis.call("HDEL", key, unpack(removed, i, math.min(i + 999, #removed)))
    end
    local write = { "HSET", key, "__mle_ml", "forest", "trees", tostring(math.max(n_trees, tree + 1)) }
    for path, spec in pairs(specs) do
      write[#write + 1] = prefix .. path
      write[#write + 1] = spec
    end
    redis.call(unpack(write))
    return redis.status_reply("OK")
  end,
}

-- "attr:val,attr:val" -> {attribute = number}
local function parse_sample(text)
  local sample = {}
  for item in string.gmatch(text, "[^,]+") do
    local name, value = string.match(item, "^([^:]+):([^:]+)")
    if name == nil then return nil end
    sample[attribute(name)] = atof(value)
  end
  if next(sample) == nil then return nil end
  return sample
end

-- the leaf of a tree that a sample reaches: its value and stats text
local function run_tree(key, tree, sample)
  local path, prefix = ".", tree .. "|"
  while true do
    local spec = redis.call("HGET", key, prefix .. path)
    local kind, attr, value = string.match(spec, "^(%a)\t([^\t]*)\t(.*)$")
    if kind == "L" then return tonumber(attr), value end
    local x = sample[attr] or 0
    local left
    if kind == "N" then
      left = x <= tonumber(value)
    else
      left = false
      for v in string.gmatch(value, "[^:]+") do
        if x == atof(v) then left = true end
      end
    end
    path = path .. (left and "l" or "r")
  end
end

-- ML.FOREST.RUN key sample (CLASSIFICATION|REGRESSION): the majority class (votes
-- weighted by leaf stats when given; the lowest class on ties), or the mean leaf value
redis.register_function{
  function_name = "mle_ml_forest_run",
  callback = function(keys, args)
    local key = keys[1]
    if #args < 1 then return fail("ERR wrong number of arguments for ML.FOREST.RUN") end
    if model_type(key) ~= "forest" then return fail(WRONGTYPE) end
    local sample = parse_sample(args[1])
    if sample == nil then return fail(BAD_VECTOR) end
    local classification = args[2] == nil or args[2] == "CLASSIFICATION"
    local n_trees = tonumber(redis.call("HGET", key, "trees"))
    if classification then
      local votes, top = {}, 0
      for tree = 0, n_trees - 1 do
        local value, stats = run_tree(key, tree, sample)
        if stats == "" then
          local class = math.floor(value)
          votes[class] = (votes[class] or 0) + 1
          if class > top then top = class end
        else
          local counts, total = {}, 0
          for c in string.gmatch(stats, "[^:]+") do
            counts[#counts + 1] = math.floor(atof(c))
            total = total + counts[#counts]
          end
          for class, c in ipairs(counts) do
            votes[class - 1] = (votes[class - 1] or 0) + c / total
            if class - 1 > top then top = class - 1 end
          end
        end
      end
      local best, best_votes = 0, -1
      for class = 0, top do
        if (votes[class] or 0) > best_votes then best, best_votes = class, votes[class] or 0 end
      end
      return reply_double(best)
    end
    local sum = 0
    for tree = 0, n_trees - 1 do sum = sum + run_tree(key, tree, sample) end
    return reply_double(sum / n_trees)
  end,
  flags = { "no-writes" },
}
