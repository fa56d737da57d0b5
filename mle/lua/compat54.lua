-- Lua 5.1 / LuaJIT names that Dragonfly-era scripts use, provided under Lua 5.4.
-- Loaded only on Lua 5.4 (it uses 5.4 operators). Returns a function that adds
-- them to a script environment.

local floor, ceil, tointeger, mtype = math.floor, math.ceil, math.tointeger, math.type
local format, pack, unpack = string.format, table.pack, table.unpack
local pcall, error, rawtype = pcall, error, type

-- LuaJIT's bit library: operands and results are signed 32-bit integers
local function tobit(x)
  if rawtype(x) ~= "number" then error("bad argument to bit operation (number expected)", 3) end
  x = tointeger(x) or floor(x)
  x = x & 0xffffffff
  if x >= 0x80000000 then x = x - 0x100000000 end
  return x
end

local function fold(op)
  return function(x, ...)
    local r = tobit(x)
    for i = 1, select("#", ...) do r = op(r, tobit((select(i, ...)))) end
    return tobit(r)
  end
end

local bit = {
  tobit = tobit,
  bnot = function(x) return tobit(~tobit(x)) end,
  band = fold(function(a, b) return a & b end),
  bor = fold(function(a, b) return a | b end),
  bxor = fold(function(a, b) return a ~ b end),
  lshift = function(x, n) return tobit(tobit(x) << (tobit(n) & 31)) end,
  rshift = function(x, n) return tobit((tobit(x) & 0xffffffff) >> (tobit(n) & 31)) end,
  arshift = function(x, n) return tobit(tobit(x) // (1 << (tobit(n) & 31))) end,
  rol = function(x, n)
    x, n = tobit(x) & 0xffffffff, tobit(n) & 31
    return tobit((x << n) | (x >> (32 - n)))
  end,
  ror = function(x, n)
    x, n = tobit(x) & 0xffffffff, tobit(n) & 31
    return tobit((x >> n) | (x << (32 - n)))
  end,
  bswap = function(x)
    x = tobit(x) & 0xffffffff
    return tobit(((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >> 8) & 0xff00) | (x >> 24))
  end,
  tohex = function(x, n)
    n = n or 8
    local upper = n < 0
    if upper then n = -n end
    if n > 8 then n = 8 end
    local s = format("%08x", tobit(x) & 0xffffffff):sub(9 - n)
    return upper and s:upper() or s
  end,
}

-- string.format: Lua 5.1 truncated a float given to %d; 5.4 raises. Truncate
-- only the arguments of integer conversions, and only when 5.4 refused.
local INTEGER_CONVERSIONS = { d = true, i = true, o = true, u = true, x = true, X = true, c = true }

local function compat_format(fmt, ...)
  local ok, result = pcall(format, fmt, ...)
  if ok then return result end
  if rawtype(result) ~= "string" or not result:find("integer representation", 1, true) then
    error(result, 2)
  end
  local args = pack(...)
  local i = 0
  for spec in fmt:gmatch("%%[-+ #0]*%d*%.?%d*(.)") do
    if spec ~= "%" then
      i = i + 1
      local v = args[i]
      if INTEGER_CONVERSIONS[spec] and mtype(v) == "float" then
        args[i] = v >= 0 and floor(v) or ceil(v)
      end
    end
  end
  return format(fmt, unpack(args, 1, args.n))
end

return function(env)
  local t, m, s = env.table, env.math, env.string
  t.getn = function(x) return #x end
  t.maxn = function(x)
    local n = 0
    for k in pairs(x) do
      if rawtype(k) == "number" and k > n then n = k end
    end
    return n
  end
  m.pow = function(a, b) return a ^ b end
  m.mod = math.fmod
  m.log10 = function(x) return math.log(x, 10) end
  m.ldexp = function(x, e) return x * 2.0 ^ e end
  m.frexp = function(x)
    if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
    local e = floor(math.log(math.abs(x), 2)) + 1
    local mantissa = x / 2.0 ^ e
    if math.abs(mantissa) >= 1 then mantissa, e = mantissa / 2, e + 1 end
    return mantissa, e
  end
  m.cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end
  m.sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end
  m.tanh = function(x) local a, b = math.exp(x), math.exp(-x); return (a - b) / (a + b) end
  s.gfind = s.gmatch -- the sandbox's gmatch (patterns.lua)
  s.format = compat_format
  env.unpack = unpack
  local b = {}
  for k, v in pairs(bit) do b[k] = v end
  env.bit = b
end
