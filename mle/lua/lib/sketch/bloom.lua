-- sketch.Bloom: set membership in m bits with k hashes (Bloom 1970): no false
-- negatives; false positives at about fp_rate once `capacity` items are in.
-- Sized from capacity and fp_rate (m = -n ln p / ln(2)^2, k = m / n ln 2), or
-- given bits and hashes. Positions by double hashing of two MurmurHash3 values,
-- the same in the engine and in Redis (mle.shared's Bloom is a Redis bitmap).
-- For indicator lists: Bloom.build(items, opts) sizes a filter for a list and
-- adds it; Bloom.read(path, opts) does the same from a file of one indicator a
-- line (blank lines and # comments skipped; only while a script loads or in
-- setup(), where the sandbox lets scripts read files).
--   local iocs = sketch.Bloom.build({"evil.example", "bad.example"}, {fp_rate = 0.001})
--   iocs:contains("evil.example") --> true
local unit = require "mle.util.unit"
local murmur3 = require "mle.util.murmur3"
local wire = require "mle.util.wire"

local Bloom = unit.class{
  name = "sketch.Bloom", module = "mle.sketch.bloom", kind = "sketch",
  options = {
    capacity = unit.number{ default = 10000, min = 1, integer = true },
    fp_rate = unit.number{ default = 0.01, min = 0, max = 1, min_open = true, max_open = true },
    bits = unit.number{ optional = true, min = 1, max = 2 ^ 32, integer = true },
    hashes = unit.number{ optional = true, min = 1, max = 64, integer = true },
    seed = unit.number{ default = 0, min = 0, max = 2 ^ 32 - 2, integer = true },
  },
}

local floor, ceil, log, hash = math.floor, math.ceil, math.log, murmur3.hash

function Bloom.init(s)
  local ln2 = log(2)
  s.bits = s.bits or ceil(-s.capacity * log(s.fp_rate) / (ln2 * ln2))
  s.hashes = s.hashes or math.max(1, floor(s.bits / s.capacity * ln2 + 0.5))
  local words = {}
  for i = 1, ceil(s.bits / 32) do words[i] = 0 end
  s.words = words  -- 32 bits a number: bit p is bit p % 32 of words[p // 32 + 1]
  s.n = 0  -- items added that were not (seemingly) in already
end

--- The 0-based bit positions of `item` (a string): a list of `hashes` numbers.
function Bloom.positions(state, item)
  local m = state.bits
  local h1, h2 = hash(item, state.seed), hash(item, state.seed + 1)
  local positions = {}
  for i = 0, state.hashes - 1 do positions[i + 1] = (h1 + i * h2) % m end
  return positions
end

--- Add an item; returns true if it was new (some bit was still 0).
function Bloom:add(item)
  local s = self.state
  local words, m = s.words, s.bits
  local key = wire.item(item, "sketch.Bloom:add")
  local h1, h2 = hash(key, s.seed), hash(key, s.seed + 1)
  local new = false
  for i = 0, s.hashes - 1 do
    local p = (h1 + i * h2) % m
    local w = floor(p / 32) + 1
    local b = 2 ^ (p % 32)
    if floor(words[w] / b) % 2 == 0 then
      words[w] = words[w] + b
      new = true
    end
  end
  if new then s.n = s.n + 1 end
  return new
end

--- True if the item was (probably) added; false means certainly not.
function Bloom:contains(item)
  local s = self.state
  local words, m = s.words, s.bits
  local key = wire.item(item, "sketch.Bloom:contains")
  local h1, h2 = hash(key, s.seed), hash(key, s.seed + 1)
  for i = 0, s.hashes - 1 do
    local p = (h1 + i * h2) % m
    if floor(words[floor(p / 32) + 1] / 2 ^ (p % 32)) % 2 == 0 then return false end
  end
  return true
end

--- Items added that were new to the filter.
function Bloom:count() return self.state.n end

--- Fold another filter with the same bits, hashes and seed into this one (the union).
function Bloom:merge(other)
  local s, o = self.state, other.state
  if o.bits ~= s.bits or o.hashes ~= s.hashes or o.seed ~= s.seed then
    error("sketch.Bloom:merge: the filters differ in bits, hashes or seed", 2)
  end
  local mine, theirs = s.words, o.words
  for i = 1, #mine do
    local a, b, union, place = mine[i], theirs[i], 0, 1
    while a > 0 or b > 0 do
      if a % 2 == 1 or b % 2 == 1 then union = union + place end
      a, b, place = floor(a / 2), floor(b / 2), place * 2
    end
    mine[i] = union
  end
  s.n = s.n + o.n
end

-- a filter sized for `items` holding them; a bad option's error points at the caller of
-- the function calling this one (which must not tail-call it)
local function sized_for(items, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.capacity == nil and o.bits == nil then o.capacity = math.max(1, #items) end
  local filter = Bloom.new(o, 3)
  for _, item in ipairs(items) do filter:add(item) end
  return filter
end

--- A filter sized for the list `items` (fp_rate and seed from `opts`), holding them.
function Bloom.build(items, opts)
  if type(items) ~= "table" then error("sketch.Bloom.build: items must be a list", 2) end
  local filter = sized_for(items, opts)
  return filter
end

--- A filter for the indicators in file `path` (one a line), sized for them.
function Bloom.read(path, opts)
  local items = {}
  for line in io.lines(path) do
    local item = line:match("^%s*(.-)%s*$")
    if item ~= "" and item:sub(1, 1) ~= "#" then items[#items + 1] = item end
  end
  local filter = sized_for(items, opts)
  return filter
end

return Bloom
