-- mle.util.wire: numbers and items as the strings that cross to Redis and back.
--
-- Numbers travel as "%.17g" (every double comes back bit for bit), with "inf",
-- "-inf" and "nan" spelled out (Lua 5.4's tonumber refuses them). Items (what a
-- sketch counts) are strings; a number item is written the same way on every
-- runtime (Lua 5.4 prints 1.0 where LuaJIT prints 1), so `add(1)` and `add("1")`
-- are the same item everywhere.
-- Lua 5.1 subset (included into the server's function libraries too).

local M = {}

local type, tostring, tonumber, format, floor, huge = type, tostring, tonumber, string.format, math.floor, math.huge

--- A number as text that `M.decode` turns back into the same double.
function M.encode(x)
  if x ~= x then return "nan" end
  if x == huge then return "inf" end
  if x == -huge then return "-inf" end
  if x == floor(x) and x > -1e15 and x < 1e15 then return format("%d", x) end
  return format("%.17g", x)
end

--- Text from `M.encode` (or any decimal number) back to a number; nil if it is not one.
function M.decode(s)
  if type(s) == "number" then return s end
  if s == "inf" then return huge end
  if s == "-inf" then return -huge end
  if s == "nan" or s == "-nan" then return 0 / 0 end
  return tonumber(s)
end

--- The item a sketch hashes: strings as they are, numbers as `M.encode` writes them,
--- booleans as "true"/"false". Anything else is an error naming `what`.
function M.item(x, what)
  local t = type(x)
  if t == "string" then return x end
  if t == "number" then return M.encode(x) end
  if t == "boolean" then return tostring(x) end
  error(format("%s: items must be strings, numbers or booleans, got %s", what, t), 3)
end

return M
