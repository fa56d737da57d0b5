-- rare: what this host does not usually do.
--
-- Keeps, per source host (local, bounded: mle.cache.LRU; events sharded by src_ip
-- keep a host on one worker), how many of its flows and alerts fell in each hour of
-- the day and how often it raised each alert signature. Once the host is out of its
-- burn-in (seen on more than `burn_in_days` dates and at least `burn_in_events`
-- events), it scores:
--   - an alert whose signature this host never raised before (more for a severe one)
--     or raised in under `rare_share` of its alerts;
--   - activity at an hour of day the host is rarely active at: the first event in an
--     hour it never used is a finding, later ones score by how rare the hour still is.
-- The hour is the one written in the event's timestamp (the sensor's local time). A
-- host's profile starts at its 5th event (before that, only a count is kept).
--
--   "10.0.0.5 raised ET MALWARE FormBook CnC Checkin (GET) [1:2031412], severity 1,
--    for the first time (0 of its 312 alerts)"
--   "10.0.0.5 active at 03h, an hour it was never active at (0 of 4,210 events over 3 dates)"

analyzer = { event_types = { "alert", "flow" }, order = 45 }

local cache = require "mle.cache"

local s = mle.settings{
  threshold = 0.5,        -- a finding at or above this score
  burn_in_days = 1,       -- a host is judged once seen on more dates than this ...
  burn_in_events = 100,   -- ... and at least this many of its events
  hosts = 50000,          -- hosts remembered per worker (LRU)
  signatures_per_host = 512, -- distinct signatures kept per host; beyond, new ones are not judged
  rare_share = 0.01,      -- a signature (or hour) under this share of the host's alerts (events) is rare
  w_new_signature = 0.7,  -- severity 1; severity 2 and 3 (and others) get 0.85 and 0.75 of it
  w_rare_signature = 0.3,
  w_new_hour = 0.5,
  w_rare_hour = 0.3,
}

local hosts = cache.LRU(s.hosts)
local sub, byte, format = string.sub, string.byte, string.format
local SEVERITY = { 1.0, 0.85, 0.75 }

-- a host's record: n events, days (distinct dates), day (the last date), mask (bit h
-- set once it was active at hour h), alerts, nsigs; sigs (signature id -> alerts) and
-- hc (hour -> events, counted from its TRACK_AFTER-th event on) only for hosts that
-- need them: most source addresses send a handful of events and keep 6 numbers.
local TRACK_AFTER = 10
local PROFILE_AFTER = 5   -- a host's profile starts at its 5th event; before, a count
local function new_host()
  return { n = 0, days = 0, day = "", mask = 0, alerts = 0, nsigs = 0 }
end

local function thousands(n)
  local text = tostring(n)
  local out = text:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  if sub(out, 1, 1) == "," then out = sub(out, 2) end
  return out
end

function loop(msg)
  local fields = mle.fields(msg)
  local ts, src = fields.timestamp, fields.src_ip
  if ts == nil or src == nil then return end
  -- a host's first events are a bare count (most sources send a few: a table per
  -- source would make the garbage collector walk a million small tables)
  local h = hosts:get(src)
  if h == nil or type(h) == "number" then
    local c = (h or 0) + 1
    if c < PROFILE_AFTER then
      hosts:set(src, c)
      return mle.score(msg, 0)
    end
    h = new_host()
    h.n = c - 1
    hosts:set(src, h)
  end

  -- hour and date straight from the timestamp text: "YYYY-MM-DDTHH..."
  local t, u = byte(ts, 12, 13)
  local hour = t and u and (t - 48) * 10 + (u - 48)
  if hour == nil or hour < 0 or hour > 23 then return end
  local day = sub(ts, 1, 10)
  if day ~= h.day then h.day, h.days = day, h.days + 1 end

  local n = h.n
  local judged = h.days > s.burn_in_days and n >= s.burn_in_events
  local score, reason = 0, nil

  local bit = 2 ^ hour
  local mask = h.mask
  local seen = mask % (bit + bit) >= bit
  if judged then
    if not seen then
      score = s.w_new_hour
      reason = format("%s active at %02dh, an hour it was never active at (0 of %s events over %d %s)",
        src, hour, thousands(n), h.days, h.days == 1 and "date" or "dates")
    elseif h.hc then
      local hn = n - TRACK_AFTER
      local c = h.hc[hour] or 0
      if c < hn * s.rare_share then score = s.w_rare_hour * (1 - c / (hn * s.rare_share)) end
    end
  end
  if not seen then h.mask = mask + bit end
  if n >= TRACK_AFTER then
    local hc = h.hc
    if hc == nil then hc = {}; h.hc = hc end
    hc[hour] = (hc[hour] or 0) + 1
  end
  h.n = n + 1

  if fields.event_type == "alert" then
    local alert = fields.alert
    local sid = alert and alert.signature_id
    if sid ~= nil then
      local sigs, alerts = h.sigs, h.alerts
      if sigs == nil then sigs = {}; h.sigs = sigs end
      local c = sigs[sid]
      if judged then
        local w, text = 0, nil
        if c == nil and h.nsigs < s.signatures_per_host then
          local severity = alert.severity
          w = s.w_new_signature * (SEVERITY[severity] or 0.75)
          text = format("%s raised %s [%s:%s], severity %s, for the first time (%s)",
            src, tostring(alert.signature), tostring(alert.gid or 1), tostring(sid), tostring(severity),
            alerts == 0 and "its first alert" or "0 of its " .. thousands(alerts) .. " alerts")
        elseif c ~= nil and c < alerts * s.rare_share then
          w = s.w_rare_signature
          text = format("%s raised %s [%s:%s], rare for it (%d of its %s alerts)",
            src, tostring(alert.signature), tostring(alert.gid or 1), tostring(sid), c, thousands(alerts))
        end
        if w > 0 then
          score = 1 - (1 - score) * (1 - w)
          reason = reason and (text .. "; " .. reason) or text
        end
      end
      if c == nil then
        if h.nsigs < s.signatures_per_host then
          sigs[sid] = 1
          h.nsigs = h.nsigs + 1
        end
      else
        sigs[sid] = c + 1
      end
      h.alerts = alerts + 1
    end
  end

  if reason ~= nil and score >= s.threshold then
    mle.finding(msg, score, reason)
  else
    mle.score(msg, score)
  end
end
