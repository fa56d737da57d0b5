-- __NAME__: <what this analyzer finds, in one line>
--
-- Written by `mle new analyzer __NAME__` as a working example to change: it counts
-- the DNS queries each client sends per time window (state in Redis, shared by every
-- worker) and reports a client that sends `threshold` of them or more.
--
--   mle test __NAME__    runs its golden cases (analyzers/tests/__NAME__/<case>/)
--   mle check           loads it and lints it (leaking globals, split read-modify-writes)
--
-- What it adds to an event (under "mle", as every MLE analyzer writes it):
--   "mle": {"scores": {"__NAME__": 1.0},
--           "findings": [{"analyzer": "__NAME__", "score": 1.0,
--                         "reason": "10.0.0.5 sent 3 DNS queries in 60 s (threshold 3)"}]}

-- Declaration: the event types this analyzer wants ("*" for every event) and its
-- place in the order (lower runs first, 50 when left out). A declared analyzer in
-- analyzers/ runs without a config.lua entry; deleting the file retires it.
analyzer = { event_types = { "dns" }, order = 50 }

-- Parameters and their defaults. A config.lua entry overrides them (a misspelt name
-- is an error):
--   analyzers = { { tag = "__NAME__", script = "__NAME__.lua", settings = { threshold = 20 } } }
local cfg = mle.settings{ threshold = 10, window = 60 }

local redis -- the connection, opened in setup(): one per worker

-- setup() runs once in each worker before its first event: connect, read data files.
function setup()
  redis = assert(hiredis.connect())
end

-- The Redis key of a client's counter in the window its event falls in. Event time,
-- not the clock: a replay counts as the live run did.
local function counter_key(event)
  local window = math.floor(dragonfly.date2epoch(event.timestamp) / cfg.window)
  return "__NAME__:queries:" .. event.src_ip .. ":" .. window
end

-- loop(msg) runs once per event of the declared types; msg is the EVE record
-- (msg.dns.rrname, msg.src_ip, ...; each read is a call into Python, and mle.fields(msg)
-- gives src_ip, dest_port, dns, ... from one call the analyzers share). What must
-- outlive an event goes to Redis, not to Lua variables: each worker has its own Lua
-- state, and one client's events reach several workers. Update state with one atomic
-- command (INCR, HINCRBY, a require "mle.shared" unit), never GET then SET: other
-- events run in between.
function loop(msg)
  local dns = msg.dns
  -- a query: dns.type "query" in Suricata 7 (EVE dns version 2), "request" in Suricata 8
  if dns == nil or (dns.type ~= "query" and dns.type ~= "request") or msg.src_ip == nil then
    return
  end
  local key = counter_key(msg)
  local n = redis:command("INCR", key)
  if type(n) ~= "number" then
    error("INCR " .. key .. " failed: " .. tostring(n and n.name))
  end
  redis:command("EXPIRE", key, 2 * cfg.window) -- the counter goes once its window is over
  if n >= cfg.threshold then
    -- a finding: a score plus a reason an analyst reads; mle.priority is the highest
    mle.finding(msg, 1.0, string.format("%s sent %d DNS queries in %d s (threshold %d)",
      msg.src_ip, n, cfg.window, cfg.threshold))
  else
    mle.score(msg, n / cfg.threshold) -- a score in [0, 1], under mle.scores["__NAME__"]
  end
end

-- feedback(fb) runs when an analyst sends a verdict (POST /feedback):
--   fb.verdict   "malicious" or "benign"
--   fb.event     the EVE record it is about (when the analyst sent it), fb.flow_id
--   fb.analyzer  whose finding it judges (when given), fb.note
-- An analyzer that learns changes its state here, so its next score changes. This one
-- forgets a client's count when an analyst calls its finding benign. Delete the
-- function if your analyzer does not learn.
function feedback(fb)
  if fb.verdict ~= "benign" or (fb.analyzer and fb.analyzer ~= mle.tag) then
    return
  end
  local event = fb.event
  if event and event.src_ip and event.timestamp then
    redis:command("DEL", counter_key(event))
  end
end
