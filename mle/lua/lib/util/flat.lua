-- mle.util.flat: one update of a shared unit whose state is flat numbers (a
-- class with `fields`), kept as a Redis hash of those fields. The server side
-- (`serve`, run by the mle_stats_update function) and the argument codec both
-- sides use. One call: read the hash, rebuild the unit (Class.new with the
-- caller's options, then the stored fields), apply the verb, write the fields
-- back, refresh the TTL, reply with what the verb returned and the fields
-- before and after. Lua 5.1 subset.
local wire = require "mle.util.wire"

local M = {}

local type, tostring, tonumber, select, error = type, tostring, tonumber, select, error
local unpack = table.unpack or unpack

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

--- The server side of mle_stats_update (and of other libraries' flat units).
--- KEYS[1]: the unit's hash. ARGV: class name, verb, ttl seconds (0: none), the
--- number of options, option name and encoded value pairs, encoded verb arguments.
--- Reply: the number of results, the encoded results, the fields before, after.
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
  local unit = class.new(options)
  local state, fields = unit.state, class.fields
  local stored = redis.call("HMGET", keys[1], unpack(fields))
  for i, field in ipairs(fields) do
    if type(stored[i]) == "string" then state[field] = wire.decode(stored[i]) end
  end
  local reply = {}
  local before = {}
  for i, field in ipairs(fields) do before[i] = wire.encode(state[field]) end
  local results = pack(unit[verb](unit, unpack(args, 1, n)))
  reply[1] = tostring(results.n)
  for i = 1, results.n do reply[#reply + 1] = M.encode(results[i]) end
  for i = 1, #before do reply[#reply + 1] = before[i] end
  local write = { "HSET", keys[1] }
  for _, field in ipairs(fields) do
    local text = wire.encode(state[field])
    reply[#reply + 1] = text
    write[#write + 1] = field
    write[#write + 1] = text
  end
  redis.call(unpack(write))
  if ttl > 0 then redis.call("PEXPIRE", keys[1], math.floor(ttl * 1000)) end
  return reply
end

return M
