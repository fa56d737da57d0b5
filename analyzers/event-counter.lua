-- event-counter: how common is this kind of event on this sensor?
--
-- Counts events per event_type in a Redis hash shared by every worker, and
-- scores each event by how rare its type has been so far: 1.0 for the first
-- event of a type, 1/n for the n-th. The first few events of a type are also
-- reported as findings, with the count as the reason.
--
-- Annotation (under "mle", as every MLE analyzer writes it):
--   "mle": {"scores": {"event-counter": 0.5},
--           "findings": [{"analyzer": "event-counter", "score": 0.5,
--                         "reason": "2nd dns event seen on this sensor"}], "priority": 0.5}

analyzer = { event_types = "*" }  -- every event, whatever its type

local KEY = "mle:event-counter:types"
local REPORT_FIRST = 3  -- findings for the first N events of each type
local redis

local function ordinal(n)
  local suffix = "th"
  if n % 100 < 11 or n % 100 > 13 then
    suffix = ({ "st", "nd", "rd" })[n % 10] or "th"
  end
  return n .. suffix
end

function setup()
  redis = assert(hiredis.connect())
  assert(redis:command("PING") == hiredis.status.PONG, "Redis did not answer PING")
end

function loop(msg)
  local event_type = msg.event_type
  local n = redis:command("HINCRBY", KEY, event_type, 1)
  if type(n) ~= "number" then
    error("HINCRBY failed: " .. tostring(n and n.name))
  end
  if n <= REPORT_FIRST then
    mle.finding(msg, 1 / n, ordinal(n) .. " " .. event_type .. " event seen on this sensor")
  else
    mle.score(msg, 1 / n)
  end
end
