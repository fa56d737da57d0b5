-- stats.Entropy: Shannon entropy of a stream of categories (exact, from the
-- counts, updated in constant time per value), in bits by default (`base`).
-- Also Entropy.of_string(s) (over the bytes of s, e.g. a domain name) and
-- Entropy.of_counts(t) (over a table of counts).
--   local e = stats.Entropy(); e:update("a"); e:update("b"); e:get() --> 1
--   stats.Entropy.of_string("aabb") --> 1
local unit = require "mle.util.unit"
local wire = require "mle.util.wire"

local Entropy = unit.class{
  name = "stats.Entropy", module = "mle.stats.entropy", kind = "statistic", input = "string",
  options = { base = unit.number{ default = 2, min = 1, min_open = true } },
}

local log, byte, pairs, type = math.log, string.byte, pairs, type

function Entropy.init(s)
  s.n = 0        -- values seen
  s.sum = 0      -- the sum of c * log(c) over the categories' counts c
  s.counts = {}  -- category -> count
end

local function c_log_c(c)
  if c <= 0 then return 0 end
  return c * log(c)
end

local function entropy(n, sum, base)
  if n <= 0 then return 0 end
  local h = (log(n) - sum / n) / log(base)
  if h < 0 then return 0 end -- rounding, when one category holds everything
  return h
end

--- Count one occurrence of `category` (a string, number or boolean).
function Entropy:update(category)
  local s = self.state
  local key = wire.item(category, "stats.Entropy")
  local c = s.counts[key] or 0
  s.counts[key] = c + 1
  s.sum = s.sum - c_log_c(c) + c_log_c(c + 1)
  s.n = s.n + 1
end

function Entropy:get()
  local s = self.state
  return entropy(s.n, s.sum, s.base)
end

--- The entropy of a table of counts (any keys, numeric counts >= 0), in bits unless `base` is given.
function Entropy.of_counts(counts, base)
  local n, sum = 0, 0
  for _, c in pairs(counts) do
    if type(c) ~= "number" or c < 0 then error("stats.Entropy.of_counts: counts must be numbers >= 0", 2) end
    n = n + c
    sum = sum + c_log_c(c)
  end
  return entropy(n, sum, base or 2)
end

--- The entropy of the bytes of `s`, in bits unless `base` is given.
-- (no table per call: the byte counts live in scratch tables emptied on the way out,
-- so analyzers can call it on every DNS name)
local byte_counts, seen_bytes = {}, {}
function Entropy.of_string(s, base)
  if type(s) ~= "string" then error("stats.Entropy.of_string: expected a string, got " .. type(s), 2) end
  local distinct = 0
  for i = 1, #s do
    local b = byte(s, i)
    local c = byte_counts[b]
    if c == nil then
      distinct = distinct + 1
      seen_bytes[distinct] = b
      byte_counts[b] = 1
    else
      byte_counts[b] = c + 1
    end
  end
  local sum = 0
  for j = 1, distinct do
    local b = seen_bytes[j]
    sum = sum + c_log_c(byte_counts[b])
    byte_counts[b] = nil
  end
  return entropy(#s, sum, base or 2)
end

return Entropy
