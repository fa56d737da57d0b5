-- mle.util.unit: what every unit of the mle library is built from.
--
-- A unit class is a table of methods with a constructor that takes one options
-- table (`stats.EWMean{alpha = 0.1}`, checked: a bad option is an error naming
-- it), and `Class.from_state(state)`. An instance keeps everything it knows in
-- `u.state`, a plain table (numbers, strings, booleans, nested plain tables): the
-- options it was built with plus its data. That table is what a worker persists
-- and what the shared (Redis) variants store.
--
-- Written in the Lua 5.1 subset that also runs on Lua 5.4, LuaJIT and inside
-- Redis (mle/redis/functions.py includes library modules into server code).

local M = {}

local type, pairs, ipairs, error, tostring, setmetatable = type, pairs, ipairs, error, tostring, setmetatable
local format, sort, concat = string.format, table.sort, table.concat
local floor, huge = math.floor, math.huge

local function show(v)
  if type(v) == "string" then return format("%q", v) end
  return tostring(v)
end

-- Option checkers. Each returns a spec {default = ..., check = f(v) -> problem or nil}.

--- A number option: `unit.number{default = 0.5, min = 0, max = 1, min_open = true, integer = true}`.
--- `optional = true` lets it be nil (no default).
function M.number(o)
  local lo, hi = o.min or -huge, o.max or huge
  local lo_open, hi_open, integer = o.min_open, o.max_open, o.integer
  local what = integer and "an integer" or "a number"
  if o.min ~= nil or o.max ~= nil then
    what = format("%s in %s%s, %s%s", what, lo_open and "(" or "[", show(lo), show(hi), hi_open and ")" or "]")
  end
  return {
    default = o.default,
    optional = o.optional,
    describe = what,
    check = function(v)
      if type(v) ~= "number" or v ~= v then return "must be " .. what end
      if integer and v ~= floor(v) then return "must be " .. what end
      if v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi) then return "must be " .. what end
      return nil
    end,
  }
end

--- A string option restricted to `values`: `unit.one_of{default = "both", values = {"up", "down", "both"}}`.
function M.one_of(o)
  local allowed = {}
  for _, v in pairs(o.values) do allowed[v] = true end
  local list = {}
  for _, v in pairs(o.values) do list[#list + 1] = show(v) end
  sort(list)
  local what = "one of " .. concat(list, ", ")
  return {
    default = o.default,
    describe = what,
    check = function(v)
      if not allowed[v] then return "must be " .. what end
      return nil
    end,
  }
end

--- A non-empty string option.
function M.string(o)
  local what = o.describe or "a string"
  return {
    default = o.default,
    optional = o.optional,
    describe = what,
    check = function(v)
      if type(v) ~= "string" or v == "" then return "must be " .. what end
      return nil
    end,
  }
end

--- An option that holds a table (a list of values, a model object): `check(v)` returns a problem or nil.
function M.table(o)
  local what = o.describe or "a table"
  return {
    default = o.default,
    optional = o.optional,
    describe = what,
    check = function(v)
      if type(v) ~= "table" then return "must be " .. what end
      if o.check then return o.check(v) end
      return nil
    end,
  }
end

local function option_names(options)
  local names = {}
  for name in pairs(options) do names[#names + 1] = name end
  sort(names)
  return names
end

--- Check `opts` against the class's option specs; returns a new table holding
--- every option's value (defaults filled in). Errors name the class, the option
--- and the problem.
function M.options(class, opts, level)
  level = (level or 1) + 1
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    error(format("%s: options must be a table, got %s", class.name, type(opts)), level)
  end
  local specs = class.options
  for name in pairs(opts) do
    if specs[name] == nil then
      local names = option_names(specs)
      local known = #names > 0 and ("options: " .. concat(names, ", ")) or "it takes no options"
      error(format("%s: unknown option %s (%s)", class.name, show(name), known), level)
    end
  end
  local state = {}
  for name, spec in pairs(specs) do
    local v = opts[name]
    if v == nil then v = spec.default end
    if v ~= nil or not spec.optional then
      local problem = spec.check(v)
      if problem then
        error(format("%s: option %s %s, got %s", class.name, show(name), problem, show(v)), level)
      end
    end
    state[name] = v
  end
  return state
end

--- Build a unit class.
---   def.name     "stats.EWMean" (topic and class, as scripts reach it)
---   def.module   "mle.stats.ewmean" (what `require` loads; lets a wrapper rebuild it from state)
---   def.kind     "statistic", "sketch", "drift", "metric", "evaluator", ... (its verbs: docs/library.md)
---   def.options  { name = spec } (spec from unit.number, unit.one_of, ...)
---   def.fields   for units whose data is flat numbers: their names, in a fixed order (what the
---                shared variant stores in a Redis hash)
---   def.input    what its update takes when it is not a number: "string", "timed" (x, t), ...
---   def.external options that hold objects with their own state (a wrapped model): checked
---                like the others, then kept on the instance (u.model), not in u.state
--- The class must define `Class.init(state)`, which adds the data to a fresh state.
function M.class(def)
  local C = {
    name = def.name, module = def.module, kind = def.kind, options = def.options or {},
    fields = def.fields, input = def.input,
  }
  C.__index = C
  local external = def.external or {}

  --- A new unit from an options table (`level`: where a bad option's error points, as
  --- for `error`; default the caller of new).
  function C.new(opts, level)
    local state = M.options(C, opts, (level or 1) + 1)
    local unit = { state = state }
    for _, name in ipairs(external) do
      unit[name] = state[name]
      state[name] = nil
    end
    C.init(state)
    return setmetatable(unit, C)
  end

  --- The unit whose state is `state` (as `u.state` gave it; not copied).
  function C.from_state(state)
    if type(state) ~= "table" then
      error(format("%s.from_state: state must be a table, got %s", C.name, type(state)), 2)
    end
    return setmetatable({ state = state }, C)
  end

  return setmetatable(C, { __call = function(_, opts) return C.new(opts) end })
end

return M
