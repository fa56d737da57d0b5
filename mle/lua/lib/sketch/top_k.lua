-- sketch.TopK: the heavy hitters of a stream in k counters, by Space-Saving
-- (Metwally, Agrawal and El Abbadi 2005): a new item takes the place of the
-- least counted one (ties: the smallest item in byte order) and inherits its
-- count as its possible error. Every item occurring more than total / k times is
-- kept; a kept item's count overstates its true count by at most its error
-- (and the error by at most total / k).
-- Shared (mle.shared): a Redis sorted set and hash with the same rules, so both
-- keep the same items and counts.
--   local t = sketch.TopK{k = 3}
--   for _, d in ipairs{"a", "b", "a", "c", "a", "b"} do t:add(d) end
--   t:top(2) --> { {item = "a", count = 3, error = 0}, {item = "b", count = 2, error = 0} }
local unit = require "mle.util.unit"
local wire = require "mle.util.wire"

local TopK = unit.class{
  name = "sketch.TopK", module = "mle.sketch.top_k", kind = "sketch",
  options = { k = unit.number{ default = 100, min = 1, max = 100000, integer = true } },
}

local floor, sort, pairs = math.floor, table.sort, pairs

function TopK.init(s)
  s.n = 0          -- the total count
  s.size = 0       -- items kept
  s.counts = {}    -- item -> count
  s.errors = {}    -- item -> how much of its count may belong to items it replaced
end

--- Count `item` `w` times (an integer >= 1, default 1). Returns its count after
--- and that count's possible error.
function TopK:add(item, w)
  local s = self.state
  if w == nil then
    w = 1
  elseif type(w) ~= "number" or w < 1 or w ~= floor(w) then
    error("sketch.TopK:add: the count must be an integer >= 1, got " .. tostring(w), 2)
  end
  local key = wire.item(item, "sketch.TopK:add")
  local counts, errors = s.counts, s.errors
  s.n = s.n + w
  local c = counts[key]
  if c ~= nil then
    counts[key] = c + w
    return c + w, errors[key]
  end
  if s.size < s.k then
    s.size = s.size + 1
    counts[key], errors[key] = w, 0
    return w, 0
  end
  local least, least_count
  for other, count in pairs(counts) do
    if least == nil or count < least_count or (count == least_count and other < least) then
      least, least_count = other, count
    end
  end
  counts[least], errors[least] = nil, nil
  counts[key], errors[key] = least_count + w, least_count
  return least_count + w, least_count
end

--- The count kept for `item` (0 if it is not kept) and its possible error.
function TopK:count(item)
  local s = self.state
  local key = wire.item(item, "sketch.TopK:count")
  return s.counts[key] or 0, s.errors[key] or 0
end

--- The `n` (default k) most counted items: a list of {item = , count = , error = },
--- the highest count first (ties: smallest item first).
function TopK:top(n)
  local s = self.state
  local list = {}
  for item, count in pairs(s.counts) do list[#list + 1] = { item = item, count = count, error = s.errors[item] } end
  sort(list, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return a.item < b.item
  end)
  n = n or s.k
  for i = #list, n + 1, -1 do list[i] = nil end
  return list
end

function TopK:total() return self.state.n end

return TopK
