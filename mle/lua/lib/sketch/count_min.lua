-- sketch.CountMin: how often each item occurred, in width x depth counters
-- (Cormode and Muthukrishnan 2005). An estimate is never below the true count
-- and, with probability 1 - e^-depth, at most e / width * (total count) above it
-- (defaults 2048 x 5: 0.13 % of the total, 99.3 %). Counts are integers >= 0.
-- The rows' positions come from two MurmurHash3 values (double hashing), the
-- same in the engine and in Redis, so a shared CountMin (mle.shared) holds
-- exactly the counters a local one fed the same stream holds.
--   local c = sketch.CountMin{width = 1024, depth = 4}
--   c:add("example.com"); c:add("example.com", 2); c:count("example.com") --> 3
local unit = require "mle.util.unit"
local murmur3 = require "mle.util.murmur3"
local wire = require "mle.util.wire"

local CountMin = unit.class{
  name = "sketch.CountMin", module = "mle.sketch.count_min", kind = "sketch",
  options = {
    width = unit.number{ default = 2048, min = 1, max = 2 ^ 24, integer = true },
    depth = unit.number{ default = 5, min = 1, max = 32, integer = true },
    seed = unit.number{ default = 0, min = 0, max = 2 ^ 32 - 2, integer = true },
  },
}

local floor, hash = math.floor, murmur3.hash

function CountMin.init(s)
  local cells = {}
  for i = 1, s.width * s.depth do cells[i] = 0 end
  s.cells = cells  -- row r (0-based), column c: cells[r * width + c + 1]
  s.n = 0          -- the total count
end

--- The 1-based cell of each row for `item` (a string): a list of `depth` numbers.
function CountMin.cells_of(state, item)
  local width = state.width
  local h1, h2 = hash(item, state.seed), hash(item, state.seed + 1)
  local cells = {}
  for r = 0, state.depth - 1 do
    cells[r + 1] = r * width + (h1 + r * h2) % width + 1
  end
  return cells
end

local function check_count(w, what)
  if w == nil then return 1 end
  if type(w) ~= "number" or w < 0 or w ~= floor(w) then
    error(what .. ": the count must be an integer >= 0, got " .. tostring(w), 3)
  end
  return w
end

--- Count `item` `w` times (default 1); returns its estimated count after.
function CountMin:add(item, w)
  local s = self.state
  w = check_count(w, "sketch.CountMin:add")
  local key = wire.item(item, "sketch.CountMin:add")
  local cells, width = s.cells, s.width
  local h1, h2 = hash(key, s.seed), hash(key, s.seed + 1)
  local estimate
  for r = 0, s.depth - 1 do
    local i = r * width + (h1 + r * h2) % width + 1
    local c = cells[i] + w
    cells[i] = c
    if estimate == nil or c < estimate then estimate = c end
  end
  s.n = s.n + w
  return estimate
end

--- The estimated count of `item` (never below the true count).
function CountMin:count(item)
  local s = self.state
  local key = wire.item(item, "sketch.CountMin:count")
  local cells, width = s.cells, s.width
  local h1, h2 = hash(key, s.seed), hash(key, s.seed + 1)
  local estimate
  for r = 0, s.depth - 1 do
    local c = cells[r * width + (h1 + r * h2) % width + 1]
    if estimate == nil or c < estimate then estimate = c end
  end
  return estimate
end

--- The total of all counts added.
function CountMin:total() return self.state.n end

--- Add another CountMin of the same width, depth and seed into this one.
function CountMin:merge(other)
  local s, o = self.state, other.state
  if o.width ~= s.width or o.depth ~= s.depth or o.seed ~= s.seed then
    error("sketch.CountMin:merge: the sketches differ in width, depth or seed", 2)
  end
  local mine, theirs = s.cells, o.cells
  for i = 1, #mine do mine[i] = mine[i] + theirs[i] end
  s.n = s.n + o.n
end

return CountMin
