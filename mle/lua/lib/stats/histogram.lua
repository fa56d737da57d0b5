-- stats.Histogram: a streaming histogram of at most `max_bins` bins (Ben-Haim
-- and Tom-Tov 2010), the variant River's sketch.Histogram implements: a bin is
-- an interval [left, right] with a count; a value outside every bin opens a new
-- one; past max_bins the two bins whose right edges are closest merge.
--   local h = stats.Histogram{max_bins = 8}; for i = 1, 100 do h:update(i) end; h:cdf(50) --> ~0.5
local unit = require "mle.util.unit"

local Histogram = unit.class{
  name = "stats.Histogram", module = "mle.stats.histogram", kind = "statistic",
  options = { max_bins = unit.number{ default = 256, min = 1, integer = true } },
}

local insert, remove, huge, floor = table.insert, table.remove, math.huge, math.floor

function Histogram.init(s)
  s.n = 0
  s.left, s.right, s.count = {}, {}, {}  -- the bins, in order
end

-- merge the pair of neighbouring bins whose right edges are closest
local function shrink(s)
  local left, right, count = s.left, s.right, s.count
  local best, at = huge, 1
  for i = 2, #right do
    local diff = right[i] - right[i - 1]
    if diff < best then best, at = diff, i - 1 end
  end
  if left[at + 1] < left[at] then left[at] = left[at + 1] end
  if right[at + 1] > right[at] then right[at] = right[at + 1] end
  count[at] = count[at] + count[at + 1]
  remove(left, at + 1)
  remove(right, at + 1)
  remove(count, at + 1)
end

function Histogram:update(x)
  local s = self.state
  local left, right, count = s.left, s.right, s.count
  s.n = s.n + 1
  local bins = #right
  -- the first bin whose right edge is >= x
  local lo, hi = 1, bins + 1
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if right[mid] < x then lo = mid + 1 else hi = mid end
  end
  if lo > bins then
    left[lo], right[lo], count[lo] = x, x, 1
  elseif x >= left[lo] then
    count[lo] = count[lo] + 1
  else
    insert(left, lo, x)
    insert(right, lo, x)
    insert(count, lo, 1)
  end
  if #right > s.max_bins then shrink(s) end
end

--- The bins: a list of {left = , right = , count = }.
function Histogram:get()
  local s = self.state
  local bins = {}
  for i = 1, #s.right do bins[i] = { left = s.left[i], right = s.right[i], count = s.count[i] } end
  return bins
end

--- The share of values <= x (values inside a bin are taken as spread evenly over it).
function Histogram:cdf(x)
  local s = self.state
  if s.n == 0 then return 0 end
  local left, right, count = s.left, s.right, s.count
  local below, i = 0, 1
  while i <= #right and x >= right[i] do
    below = below + count[i]
    i = i + 1
  end
  if i <= #right and x > left[i] then
    return (below + count[i] * (x - left[i]) / (right[i] - left[i])) / s.n
  end
  return below / s.n
end

return Histogram
