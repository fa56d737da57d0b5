-- sketch.HyperLogLog: distinct count in 2^precision registers (Flajolet et al.
-- 2007), with Ertl's estimator (2017, the one Redis's PFCOUNT uses since 5.0):
-- no bias correction tables, good from 0 to billions. Standard error
-- 1.04 / sqrt(2^precision): 0.81 % at the default 14 (16,384 registers, as Redis).
-- Items are hashed with MurmurHash3 (a second hash only for the one item in 2^18
-- whose first hash leaves no rank bits), so the hash is not Redis's: a local
-- sketch and a Redis PFADD key agree within the error, not bit for bit.
-- Shared: mle.shared's HyperLogLog is Redis's own PFADD / PFCOUNT.
--   local h = sketch.HyperLogLog(); h:add("10.0.0.1"); h:add("10.0.0.2"); h:count() --> 2
local unit = require "mle.util.unit"
local murmur3 = require "mle.util.murmur3"
local wire = require "mle.util.wire"

local HyperLogLog = unit.class{
  name = "sketch.HyperLogLog", module = "mle.sketch.hyperloglog", kind = "sketch",
  options = { precision = unit.number{ default = 14, min = 4, max = 18, integer = true } },
}

local floor, sqrt, log, frexp, huge = math.floor, math.sqrt, math.log, math.frexp, math.huge
local hash = murmur3.hash

function HyperLogLog.init(s)
  local registers = {}
  for i = 1, 2 ^ s.precision do registers[i] = 0 end
  s.registers = registers
end

-- the number of significant bits of w > 0 (w < 2^32)
local function bit_length(w)
  local _, e = frexp(w)
  return e
end

--- Add an item (string, number or boolean). Returns true when a register changed.
function HyperLogLog:add(item)
  local s = self.state
  local key = wire.item(item, "sketch.HyperLogLog:add")
  local p = s.precision
  local q = 32 - p                      -- bits left for the rank in the first hash
  local h = hash(key, 0)
  local scale = 2 ^ q
  local index = floor(h / scale) + 1
  local w = h - (index - 1) * scale
  local rank
  if w > 0 then
    rank = q - bit_length(w) + 1
  else                                   -- continue into a second hash: 64 - p bits in all
    local h2 = hash(key, 1)
    rank = q + (h2 > 0 and (32 - bit_length(h2) + 1) or 33)
  end
  local registers = s.registers
  if rank > registers[index] then
    registers[index] = rank
    return true
  end
  return false
end

-- Ertl's sigma and tau (the corrections for empty and saturated registers)
local function sigma(x)
  if x == 1 then return huge end
  local y, z = 1, x
  while true do
    x = x * x
    local previous = z
    z = z + x * y
    y = y + y
    if z == previous then return z end
  end
end

local function tau(x)
  if x == 0 or x == 1 then return 0 end
  local y, z = 1, 1 - x
  while true do
    x = sqrt(x)
    local previous = z
    y = y * 0.5
    z = z - (1 - x) * (1 - x) * y
    if z == previous then return z / 3 end
  end
end

--- The estimated number of distinct items added.
function HyperLogLog:count()
  local s = self.state
  local m = 2 ^ s.precision
  local q = 64 - s.precision
  local histogram = {}
  for k = 0, q + 1 do histogram[k] = 0 end
  for _, r in ipairs(s.registers) do histogram[r] = histogram[r] + 1 end
  local z = m * tau((m - histogram[q + 1]) / m)
  for k = q, 1, -1 do z = (z + histogram[k]) * 0.5 end
  z = z + m * sigma(histogram[0] / m)
  return floor(m * m / (2 * log(2)) / z + 0.5)
end

--- Fold another HyperLogLog of the same precision into this one (the union).
function HyperLogLog:merge(other)
  local s, o = self.state, other.state
  if o.precision ~= s.precision then
    error(string.format("sketch.HyperLogLog:merge: precision %d and %d differ", s.precision, o.precision), 2)
  end
  local mine, theirs = s.registers, o.registers
  for i = 1, #mine do
    if theirs[i] > mine[i] then mine[i] = theirs[i] end
  end
end

return HyperLogLog
