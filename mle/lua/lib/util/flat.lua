-- mle.util.flat: one update of a shared unit whose state is flat numbers (a
-- class with `fields`), kept as a Redis hash of those fields. The server side
-- (`serve`, run by the mle_stats_update function) and the argument codec both
-- sides use. One call: read the hash, rebuild the unit (Class.new with the
-- caller's options, then the stored fields), apply the verb, write the fields
-- back, refresh the TTL, reply with what the verb returned and the fields
-- before and after. Lua 5.1 subset.
local wire = require "mle.util.wire"

local M = {}

local type, tostring, tonumber, select, error, pairs = type, tostring, tonumber, select, error, pairs
local unpack, concat = table.unpack or unpack, table.concat

-- the verbs a shared unit may be asked to apply on the server
M.VERBS = { update = true, revert = true, learn_one = true, score_learn = true }

--- A verb argument or result as tagged text: n<number>, s<string>, b1/b0, z (nil).
function M.encode(v)
  local t = type(v)
  if t == "number" then return "n" .. wire.encode(v) end
  if t == "string" then return "s" .. v end
  if t == "boolean" then return v and "b1" or "b0" end
  if v == nil then return "z" end
  error("a shared unit's arguments and results must be numbers, strings, booleans or nil, got " .. t, 3)
end

--- Tagged text from `M.encode` back to the value.
function M.decode(s)
  local tag, rest = s:sub(1, 1), s:sub(2)
  if tag == "n" then return wire.decode(rest) end
  if tag == "s" then return rest end
  if tag == "b" then return rest == "1" end
  if tag == "z" then return nil end
  error("not an encoded value: " .. s, 2)
end

local function pack(...) return { n = select("#", ...), ... } end

local fresh_states, fresh_count = {}, 0

-- a fresh state of `class` with these options (built once per class and options; copied)
local function fresh(class, options, option_args)
  local key = class.name .. "\0" .. option_args
  local prototype = fresh_states[key]
  if prototype == nil then
    if fresh_count >= 256 then fresh_states, fresh_count = {}, 0 end
    prototype = class.new(options).state
    fresh_states[key], fresh_count = prototype, fresh_count + 1
  end
  local state = {}
  for k, v in pairs(prototype) do state[k] = v end
  return state
end

--- The server side of mle_stats_update (and of other libraries' flat units).
--- KEYS[1]: the unit's hash. ARGV: class name, verb, ttl seconds (0: none), the
--- number of options, option name and encoded value pairs, encoded verb arguments.
--- Reply: the fields before and after the update (their wire text, space-separated,
--- in one string: one value for the engine to hand over), then the verb's results,
--- encoded.
function M.serve(classes, keys, argv)
  local class = classes[argv[1]]
  if class == nil then error("no shared unit named " .. tostring(argv[1]), 0) end
  local verb = argv[2]
  if not M.VERBS[verb] or type(class[verb]) ~= "function" then
    error(class.name .. " has no shared verb " .. tostring(verb), 0)
  end
  local ttl = tonumber(argv[3]) or 0
  local n_options = tonumber(argv[4]) or 0
  local options = {}
  for i = 1, n_options do options[argv[3 + 2 * i]] = M.decode(argv[4 + 2 * i]) end
  local args, n = {}, 0
  for i = 5 + 2 * n_options, #argv do
    n = n + 1
    args[n] = M.decode(argv[i])
  end
  local state, fields = fresh(class, options, concat(argv, "\0", 5, 4 + 2 * n_options)), class.fields
  local stored = redis.call("HMGET", keys[1], unpack(fields))
  local texts = {}
  for i, field in ipairs(fields) do
    local text = stored[i]
    if type(text) == "string" then
      state[field] = wire.decode(text)
    else
      text = wire.encode(state[field])
    end
    texts[i] = text
  end
  local unit = class.from_state(state)
  local results = pack(unit[verb](unit, unpack(args, 1, n)))
  local write, count = { "HSET", keys[1] }, #fields
  for i, field in ipairs(fields) do
    local text = wire.encode(state[field])
    texts[count + i] = text
    write[#write + 1] = field
    write[#write + 1] = text
  end
  redis.call(unpack(write))
  if ttl > 0 then redis.call("PEXPIRE", keys[1], math.floor(ttl * 1000)) end
  local reply = { concat(texts, " ") }
  for i = 1, results.n do reply[i + 1] = M.encode(results[i]) end
  return reply
end

return M
