-- mle.eve: reading Suricata EVE fields fast.
--
--   local eve = require "mle.eve"
--   local t = eve.epoch(msg.timestamp)   -- "2021-06-06T15:59:46.457984+0200" -> 1622987986.457984
--
-- eve.epoch keeps the fraction of a second and honours the zone offset. Suricata's own
-- layout (31 characters) is parsed by position, memoised per minute and per zone, so a
-- timestamp costs a few string.sub calls; any other layout falls back to
-- dragonfly.date2epoch (whole seconds). Not a timestamp: nil.
local eve = {}

local sub, tonumber, floor, type = string.sub, tonumber, math.floor, type

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local MEMO_LIMIT = 4096
local minute_base, n_minutes, zones = {}, 0, {}

local function fallback(ts)
  return dragonfly.date2epoch(ts)
end

--- Epoch seconds (with the fraction) of an EVE timestamp, or nil.
function eve.epoch(ts)
  if type(ts) ~= "string" then return nil end
  if #ts ~= 31 then return fallback(ts) end
  local key = sub(ts, 1, 16) -- "YYYY-MM-DDTHH:MM"
  local base = minute_base[key]
  if base == nil then
    local y, mo, d = tonumber(sub(ts, 1, 4)), tonumber(sub(ts, 6, 7)), tonumber(sub(ts, 9, 10))
    local h, mi = tonumber(sub(ts, 12, 13)), tonumber(sub(ts, 15, 16))
    if not (y and mo and d and h and mi) then return fallback(ts) end
    base = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
    if n_minutes >= MEMO_LIMIT then minute_base, n_minutes = {}, 0 end
    minute_base[key], n_minutes = base, n_minutes + 1
  end
  local zone = sub(ts, 27, 31) -- "+0200"
  local offset = zones[zone]
  if offset == nil then
    local sign, hh, mm = sub(zone, 1, 1), tonumber(sub(zone, 2, 3)), tonumber(sub(zone, 4, 5))
    if not (hh and mm) or (sign ~= "+" and sign ~= "-") then return fallback(ts) end
    offset = (hh * 3600 + mm * 60) * (sign == "-" and -1 or 1)
    zones[zone] = offset
  end
  local seconds = tonumber(sub(ts, 18, 26)) -- "46.457984"
  if seconds == nil then return fallback(ts) end
  return base + seconds - offset
end

return eve
