#!lua name=mle_models
-- The shared online models of the mle library (mle.shared.logistic_regression,
-- mle.shared.naive_bayes): one FCALL predicts and learns, running the modules the
-- engine runs locally on a state that holds only what this event's features need.

local LR = include("models/logistic_regression")
local NB = include("models/naive_bayes")
local flat = include("util/flat")
local wire = include("util/wire")

local VERBS = { score_learn = true, predict_proba_one = true, learn_one = true }

local function expire(key, ttl)
  ttl = tonumber(ttl) or 0
  if ttl > 0 then redis.call("PEXPIRE", key, math.floor(ttl * 1000)) end
end

-- ARGV from index `at`: the number of options, (name, flat-encoded value) pairs,
-- then (feature, value) pairs. Returns options, x, the features in order.
local function read_arguments(args, at)
  local options, n = {}, tonumber(args[at])
  for i = 1, n do options[args[at - 1 + 2 * i]] = flat.decode(args[at + 2 * i]) end
  local x, names = {}, {}
  for i = at + 1 + 2 * n, #args, 2 do
    x[args[i]] = wire.decode(args[i + 1])
    names[#names + 1] = args[i]
  end
  return options, x, names
end

-- Logistic regression. KEYS[1]: a hash "intercept", "n", "w:<feature>" = weight.
-- ARGV: ttl, verb, label (flat-encoded; "z" for none), options, features (above).
-- Reply: P(positive) before learning ("" for learn_one).
redis.register_function{
  function_name = "mle_lr_score_learn",
  callback = function(keys, args)
    local verb = args[2]
    if not VERBS[verb] then return redis.error_reply("ERR mle_lr_score_learn: unknown verb " .. tostring(verb)) end
    local y = flat.decode(args[3])
    local options, x, names = read_arguments(args, 4)
    local model = LR.new(options)
    local s = model.state
    local fields = { "intercept", "n" }
    for i, name in ipairs(names) do fields[2 + i] = "w:" .. name end
    local stored = redis.call("HMGET", keys[1], unpack(fields))
    if stored[1] then s.intercept, s.n = wire.decode(stored[1]), wire.decode(stored[2]) end
    for i, name in ipairs(names) do
      if stored[2 + i] then s.weights[name] = wire.decode(stored[2 + i]) end
    end
    local reply = ""
    if verb == "score_learn" then
      reply = wire.encode(model:score_learn(x, y))
    elseif verb == "predict_proba_one" then
      return wire.encode(model:predict_proba_one(x))
    else
      model:learn_one(x, y)
    end
    local write = { "HSET", keys[1], "intercept", wire.encode(s.intercept), "n", wire.encode(s.n) }
    for _, name in ipairs(names) do
      write[#write + 1] = "w:" .. name
      write[#write + 1] = wire.encode(s.weights[name])
    end
    redis.call(unpack(write))
    expire(keys[1], args[1])
    return reply
  end,
}

-- Multinomial naive Bayes. KEYS[1]: a hash "classes" = the labels (NUL-separated, in
-- the order first seen), "c:<class>" events, "t:<class>" token total, "f:<class>NUL<feature>"
-- counts, "v:<feature>" for every feature learnt, "terms" = their number. ARGV: ttl,
-- verb, label (flat-encoded; "z" for none), options, features (above). Reply: class,
-- probability, class, probability, ... before learning (empty for learn_one).
redis.register_function{
  function_name = "mle_nb_score_learn",
  callback = function(keys, args)
    local verb = args[2]
    if not VERBS[verb] then return redis.error_reply("ERR mle_nb_score_learn: unknown verb " .. tostring(verb)) end
    local y = flat.decode(args[3])
    local options, x, names = read_arguments(args, 4)
    local model = NB.new(options)
    local s = model.state
    local head = redis.call("HMGET", keys[1], "classes", "terms")
    if head[1] then
      for c in string.gmatch(head[1], "[^%z]+") do s.classes[#s.classes + 1] = c end
      s.n_terms = tonumber(head[2]) or 0
    end
    local fields = {}
    for _, c in ipairs(s.classes) do
      fields[#fields + 1] = "c:" .. c
      fields[#fields + 1] = "t:" .. c
    end
    for _, f in ipairs(names) do
      fields[#fields + 1] = "v:" .. f
      for _, c in ipairs(s.classes) do fields[#fields + 1] = "f:" .. c .. "\0" .. f end
    end
    if #fields > 0 then
      local stored, at = redis.call("HMGET", keys[1], unpack(fields)), 1
      for k = 1, #s.classes do
        s.class_counts[k], s.class_totals[k] = tonumber(stored[at]), tonumber(stored[at + 1])
        at = at + 2
      end
      for _, f in ipairs(names) do
        if stored[at] then
          local per_class = {}
          for k = 1, #s.classes do per_class[k] = stored[at + k] and tonumber(stored[at + k]) or nil end
          s.feature_counts[f] = per_class
        end
        at = at + 1 + #s.classes
      end
    end
    local reply = {}
    if verb ~= "learn_one" then
      local p = model:predict_proba_one(x)
      for _, c in ipairs(s.classes) do
        reply[#reply + 1] = c
        reply[#reply + 1] = wire.encode(p[c])
      end
      if verb == "predict_proba_one" then return reply end
    end
    model:learn_one(x, y)
    local k = 1
    while s.classes[k] ~= y do k = k + 1 end
    local write = { "HSET", keys[1], "classes", table.concat(s.classes, "\0"), "terms", s.n_terms,
                    "c:" .. y, s.class_counts[k], "t:" .. y, wire.encode(s.class_totals[k]) }
    for _, f in ipairs(names) do
      write[#write + 1] = "v:" .. f
      write[#write + 1] = "1"
      write[#write + 1] = "f:" .. y .. "\0" .. f
      write[#write + 1] = wire.encode(s.feature_counts[f][k])
    end
    redis.call(unpack(write))
    expire(keys[1], args[1])
    return reply
  end,
}
