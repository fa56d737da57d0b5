-- stats.Quantile: a streaming quantile by the P² algorithm (Jain and Chlamtac
-- 1985), five markers, constant memory; the same estimator and marker layout as
-- River's stats.Quantile, so both give the same value on the same stream. Until
-- five values were seen it answers from the values themselves.
--   local q = stats.Quantile{q = 0.9}; for i = 1, 100 do q:update(i) end; q:get() --> 90
local unit = require "mle.util.unit"

local Quantile = unit.class{
  name = "stats.Quantile", module = "mle.stats.quantile", kind = "statistic",
  options = { q = unit.number{ default = 0.5, min = 0, max = 1, min_open = true, max_open = true } },
}

local floor, sort = math.floor, table.sort

function Quantile.init(s)
  local q = s.q
  s.heights = {}                       -- marker heights (the first five values until then)
  s.sorted = false
  s.positions = { 1, 2, 3, 4, 5 }      -- actual marker positions
  s.desired = { 1, 1 + 2 * q, 1 + 4 * q, 3 + 2 * q, 5 }  -- desired positions
  s.steps = { 0, q / 2, q, (1 + q) / 2, 1 }              -- their increments per value
end

-- the piecewise-parabolic prediction for marker i moved by d (+1 or -1)
local function parabolic(h, p, i, d)
  local q, qp1, qm1 = h[i], h[i + 1], h[i - 1]
  local n, np1, nm1 = p[i], p[i + 1], p[i - 1]
  local outer = d / (np1 - nm1)
  local left = (n - nm1 + d) * (qp1 - q) / (np1 - n)
  local right = (np1 - n - d) * (q - qm1) / (n - nm1)
  return q + outer * (left + right)
end

function Quantile:update(x)
  local s = self.state
  local h, p = s.heights, s.positions
  if #h < 5 then
    h[#h + 1] = x
    return
  end
  if not s.sorted then
    sort(h)
    s.sorted = true
  end
  -- the cell k holding x; the extreme markers follow the extreme values
  local k
  if x < h[1] then
    h[1] = x
    k = 1
  else
    for i = 2, 5 do
      if h[i - 1] <= x and x < h[i] then
        k = i - 1
        break
      end
    end
    if k == nil then
      if h[5] < x then h[5] = x end
      k = 4
    end
  end
  for i = k + 1, 5 do p[i] = p[i] + 1 end
  local desired, steps = s.desired, s.steps
  for i = 1, 5 do desired[i] = desired[i] + steps[i] end
  -- move the middle markers towards their desired positions
  for i = 2, 4 do
    local n = p[i]
    local d = desired[i] - n
    if (d >= 1 and p[i + 1] - n > 1) or (d <= -1 and p[i - 1] - n < -1) then
      d = d > 0 and 1 or -1
      local qn = parabolic(h, p, i, d)
      if h[i - 1] < qn and qn < h[i + 1] then
        h[i] = qn
      else
        h[i] = h[i] + d * (h[i + d] - h[i]) / (p[i + d] - n)
      end
      p[i] = n + d
    end
  end
end

--- The estimate (nil before the first value).
function Quantile:get()
  local s = self.state
  local h = s.heights
  if s.sorted then return h[3] end
  local n = #h
  if n == 0 then return nil end
  local copy = {}
  for i = 1, n do copy[i] = h[i] end
  sort(copy)
  local index = n - 1
  if n * s.q < index then index = n * s.q end
  return copy[floor(index) + 1]
end

return Quantile
