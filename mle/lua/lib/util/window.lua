-- mle.util.window: the last `size` pairs of values, for the windowed metrics.
-- A plain table (it lives inside a unit's state): {size, count, head, a = {}, b = {}}.
local M = {}

function M.new(size) return { size = size, count = 0, head = 0, a = {}, b = {} } end

--- Append the pair (x, y); returns true and the pair that fell out when the window was full.
function M.push(w, x, y)
  local i = w.head % w.size + 1
  w.head = i
  local full = w.count == w.size
  local old_x, old_y = w.a[i], w.b[i]
  w.a[i], w.b[i] = x, y
  if full then return true, old_x, old_y end
  w.count = w.count + 1
  return false
end

return M
