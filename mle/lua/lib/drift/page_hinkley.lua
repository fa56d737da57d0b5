-- drift.PageHinkley: the Page-Hinkley test (Page 1954), as River's
-- drift.PageHinkley: cumulative deviations from the running mean, faded by
-- `alpha`, less a tolerance `delta`; a drift when they rise (mode "up"), fall
-- ("down") or either ("both") more than `threshold` above their extreme, after
-- `min_instances` values. After a detection the next update starts afresh.
--   local d = drift.PageHinkley{threshold = 50}
--   if d:update(x) then ... end   -- d.drift_detected
local unit = require "mle.util.unit"

local PageHinkley = unit.class{
  name = "drift.PageHinkley", module = "mle.drift.page_hinkley", kind = "drift",
  options = {
    min_instances = unit.number{ default = 30, min = 1, integer = true },
    delta = unit.number{ default = 0.005, min = 0 },
    threshold = unit.number{ default = 50, min = 0, min_open = true },
    alpha = unit.number{ default = 1 - 0.0001, min = 0, max = 1 },
    mode = unit.one_of{ default = "both", values = { "up", "down", "both" } },
  },
}

PageHinkley.drift_detected = false

local function reset(s)
  s.n, s.mean = 0, 0
  s.up, s.down = 0, 0          -- the faded sums of deviations (for a rise and for a fall)
  s.min_up, s.max_down = 0, -1 -- their extremes so far (min_up is set by the first value)
end

function PageHinkley.init(s)
  reset(s)
  s.drift_detected = false
end

--- Add a value; returns true when a drift is detected with it (also d.drift_detected).
function PageHinkley:update(x)
  local s = self.state
  if s.drift_detected then reset(s) end
  s.n = s.n + 1
  s.mean = s.mean + (1 / s.n) * (x - s.mean)
  local dev = x - s.mean
  s.up = s.alpha * s.up + dev - s.delta
  s.down = s.alpha * s.down + dev + s.delta
  if s.n == 1 or s.up < s.min_up then s.min_up = s.up end
  if s.down > s.max_down then s.max_down = s.down end
  local detected = false
  if s.n >= s.min_instances then
    local rise, fall = s.up - s.min_up, s.max_down - s.down
    local mode = s.mode
    detected = ((mode == "up" or mode == "both") and rise > s.threshold)
      or ((mode == "down" or mode == "both") and fall > s.threshold)
  end
  s.drift_detected = detected
  self.drift_detected = detected
  return detected
end

local from_state = PageHinkley.from_state
function PageHinkley.from_state(state)
  local d = from_state(state)
  d.drift_detected = state.drift_detected
  return d
end

return PageHinkley
