-- MAD scorer: a robust z-score over a sliding window, from the median and the median
-- absolute deviation (MAD) of the last window_size values.
--
--   local MAD = require "mle.anomaly.mad"
--   local d = MAD{window_size = 500, grace_period = 30}
--   local s = d:score_learn(duration)
--
-- z = (x - median) / (1.482602218505602 * MAD), the MAD scaled to estimate a normal
-- distribution's standard deviation (scipy's median_abs_deviation(scale="normal")); the
-- score is erf(|z| / sqrt(2)) as for the z-score scorer (ZScore.deviation_score). Median
-- and MAD are exact over the window (a sorted copy of it; O(window_size) per value).
-- While the window holds fewer than grace_period values the score is 0. With MAD = 0
-- (more than half the window is one value), the median scores 0 and any other value 1.

local ZScore = require "mle.anomaly.zscore"

local unit = require "mle.util.unit"

local MAD = unit.class{
  name = "anomaly.MAD", module = "mle.anomaly.mad", kind = "anomaly", input = "number",
  options = {
    window_size = unit.number{ default = 1000, min = 1, integer = true },
    grace_period = unit.number{ default = 30, min = 1, integer = true },
  },
}

local SCALE = 1.482602218505602  -- 1 / Phi^-1(3/4)

function MAD.init(s)
  s.window = {}   -- ring buffer of the values, oldest at `head`
  s.head = 1
  s.sorted = {}   -- the same values, sorted
end

-- first position in sorted a with a[i] >= v (#a + 1 if none)
local function lower_bound(a, v)
  local lo, hi = 1, #a + 1
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if a[mid] < v then lo = mid + 1 else hi = mid end
  end
  return lo
end

function MAD:learn_one(x)
  local s = self.state
  local window, sorted = s.window, s.sorted
  if #window == s.window_size then
    local oldest = window[s.head]
    table.remove(sorted, lower_bound(sorted, oldest))
    window[s.head] = x
    s.head = s.head % s.window_size + 1
  else
    window[#window + 1] = x
  end
  table.insert(sorted, lower_bound(sorted, x), x)
end

local function median(sorted)
  local n = #sorted
  if n % 2 == 1 then return sorted[(n + 1) / 2] end
  return (sorted[n / 2] + sorted[n / 2 + 1]) / 2
end

-- the k-th smallest |v - m| over sorted values: merge the deviations left of m
-- (growing leftwards) with those right of it (growing rightwards)
local function kth_deviation(sorted, m, k)
  local right = lower_bound(sorted, m)
  local left = right - 1
  local d
  for _ = 1, k do
    local dl = left >= 1 and m - sorted[left] or math.huge
    local dr = right <= #sorted and sorted[right] - m or math.huge
    if dl <= dr then d, left = dl, left - 1 else d, right = dr, right + 1 end
  end
  return d
end

--- The window's median and MAD (nil when the window is empty).
function MAD:median_mad()
  local sorted = self.state.sorted
  local n = #sorted
  if n == 0 then return nil end
  local m = median(sorted)
  local mad
  if n % 2 == 1 then
    mad = kth_deviation(sorted, m, (n + 1) / 2)
  else
    mad = (kth_deviation(sorted, m, n / 2) + kth_deviation(sorted, m, n / 2 + 1)) / 2
  end
  return m, mad
end

--- (x - median) / (1.4826 MAD); nil for an empty window; +-inf (0 for the median) when MAD = 0.
function MAD:deviation(x)
  local m, mad = self:median_mad()
  if m == nil then return nil end
  if mad == 0 then
    if x == m then return 0 end
    return (x - m) * math.huge
  end
  return (x - m) / (SCALE * mad)
end

function MAD:score_one(x)
  if #self.state.sorted < self.state.grace_period then return 0 end
  local z = self:deviation(x)
  if z == math.huge or z == -math.huge then return 1 end
  return ZScore.deviation_score(z)
end

--- Score x, then learn it.
function MAD:score_learn(x)
  local score = self:score_one(x)
  self:learn_one(x)
  return score
end

return MAD
