-- drift.ADWIN: adaptive windowing (Bifet and Gavaldà 2007), ADWIN2's
-- exponential histogram of buckets, as River's drift.ADWIN: every `clock`
-- values it tests each split of the window into an older and a newer part and
-- drops the oldest bucket while their means differ by more than the Hoeffding-
-- style bound for `delta`. After a detection the next update starts afresh, as
-- in River, so both detect at the same indices on the same stream.
--   local d = drift.ADWIN{delta = 0.002}
--   if d:update(x) then ... end   -- d.drift_detected, d:estimation(), d:width()
local unit = require "mle.util.unit"

local ADWIN = unit.class{
  name = "drift.ADWIN", module = "mle.drift.adwin", kind = "drift",
  options = {
    delta = unit.number{ default = 0.002, min = 0, max = 1, min_open = true, max_open = true },
    clock = unit.number{ default = 32, min = 1, integer = true },
    max_buckets = unit.number{ default = 5, min = 1, integer = true },
    min_window_length = unit.number{ default = 5, min = 1, integer = true },
    grace_period = unit.number{ default = 10, min = 0, integer = true },
  },
}

ADWIN.drift_detected = false

local log, sqrt, abs, remove = math.log, math.sqrt, math.abs, table.remove

local function reset(s)
  s.total, s.variance, s.width, s.tick = 0, 0, 0, 0
  -- rows[i] holds the buckets of 2^(i-1) values, oldest first: their totals and variances
  s.totals, s.variances = { {} }, { {} }
end

function ADWIN.init(s)
  reset(s)
  s.detections = 0
  s.drift_detected = false
end

local function compress(s)
  local totals, variances, max = s.totals, s.variances, s.max_buckets
  local row = 1
  while #totals[row] == max + 1 do
    local t, v = totals[row], variances[row]
    local n = 2 ^ (row - 1)
    local mu1, mu2 = t[1] / n, t[2] / n
    local merged_total = t[1] + t[2]
    local merged_variance = v[1] + v[2] + n * 0.5 * (mu1 - mu2) * (mu1 - mu2)
    if totals[row + 1] == nil then totals[row + 1], variances[row + 1] = {}, {} end
    local nt, nv = totals[row + 1], variances[row + 1]
    nt[#nt + 1], nv[#nv + 1] = merged_total, merged_variance
    remove(t, 1); remove(t, 1)
    remove(v, 1); remove(v, 1)
    if #nt <= max then break end
    row = row + 1
  end
end

local function insert(s, x)
  local first_t, first_v = s.totals[1], s.variances[1]
  first_t[#first_t + 1], first_v[#first_v + 1] = x, 0
  s.width = s.width + 1
  local increment = 0
  if s.width > 1 then
    local d = x - s.total / (s.width - 1)
    increment = (s.width - 1) * d * d / s.width
  end
  s.variance = s.variance + increment
  s.total = s.total + x
  compress(s)
end

-- drop the oldest bucket
local function delete_oldest(s)
  local last = #s.totals
  local t, v = s.totals[last], s.variances[last]
  local n = 2 ^ (last - 1)
  local u, var = t[1], v[1]
  local mu = u / n
  s.width = s.width - n
  s.total = s.total - u
  local mu_window = s.total / s.width
  s.variance = s.variance - (var + n * s.width * (mu - mu_window) * (mu - mu_window) / (n + s.width))
  remove(t, 1); remove(v, 1)
  if #t == 0 then s.totals[last], s.variances[last] = nil, nil end
end

local function cut(s, n0, n1, delta_mean)
  local delta_prime = log(2 * log(s.width) / s.delta)
  local m_recip = 1 / (n0 - s.min_window_length + 1) + 1 / (n1 - s.min_window_length + 1)
  local epsilon = sqrt(2 * m_recip * (s.variance / s.width) * delta_prime) + 2 / 3 * delta_prime * m_recip
  return abs(delta_mean) > epsilon
end

local function detect(s)
  local detected = false
  s.tick = s.tick + 1
  if s.tick % s.clock ~= 0 or s.width <= s.grace_period then return false end
  local reduce = true
  while reduce do
    reduce = false
    local n0, n1, u0, u1 = 0, s.width, 0, s.total
    local totals, min = s.totals, s.min_window_length
    local stop = false
    for row = #totals, 1, -1 do
      if stop then break end
      local size = 2 ^ (row - 1)
      local t = totals[row]
      local count = #t
      for k = 1, count do
        n0, n1 = n0 + size, n1 - size
        u0, u1 = u0 + t[k], u1 - t[k]
        if row == 1 and k == count then
          stop = true
          break
        end
        if n1 >= min and n0 >= min and cut(s, n0, n1, u0 / n0 - u1 / n1) then
          reduce, detected = true, true
          if s.width > 0 then
            delete_oldest(s)
            stop = true
            break
          end
        end
      end
    end
  end
  return detected
end

--- Add a value; returns true when a drift is detected with it (also d.drift_detected).
function ADWIN:update(x)
  local s = self.state
  if s.drift_detected then reset(s) end
  insert(s, x)
  local detected = detect(s)
  if detected then s.detections = s.detections + 1 end
  s.drift_detected = detected
  self.drift_detected = detected
  return detected
end

--- The mean of the current window.
function ADWIN:estimation()
  local s = self.state
  if s.width == 0 then return 0 end
  return s.total / s.width
end

function ADWIN:width() return self.state.width end
function ADWIN:variance() return self.state.variance end
function ADWIN:detections() return self.state.detections end

local from_state = ADWIN.from_state
function ADWIN.from_state(state)
  local d = from_state(state)
  d.drift_detected = state.drift_detected
  return d
end

return ADWIN
