-- triage: one priority per event, from everything the analyzers before it found.
--
-- Runs last (order 90) on alert and drop records and on every other event that has a
-- finding by then (with_findings: the rest never reach it). The evidence on an event is
--   * each finding of the analyzers before it (msg.mle.findings), weighted per analyzer
--     (`weights`; `default_weight` for the others);
--   * a Suricata alert on the event (an alert record, or a drop record that carries one):
--     the larger of its severity's value (`severity`:
--     1 -> 0.8, 2 -> 0.5, 3 -> 0.25) and its Emerging Threats class's (the word after
--     "ET ": MALWARE, TROJAN, CNC, ... 0.95; JA3 0.6; SCAN 0.4; `classes`).
-- The event's own priority is the noisy-OR of its evidence, 1 - prod(1 - w * score)
-- (two independent reasons to look beat either alone; it never exceeds 1).
--
-- Per host (the source address; local bounded state: the default config shards by
-- src_ip) triage remembers, for `window` seconds of event time, the strongest evidence
-- of each distinct source (an analyzer, or "alert <class>"). Evidence the host had from
-- OTHER sources within the window raises the event's priority (Slips sums evidence per
-- host and hour): p = 1 - (1 - own) * prod(1 - host_weight * other). A host with a
-- beacon and a DGA finding within the hour ranks above either alone; the same source
-- repeated never counts twice.
--
-- mle.set_priority makes the result the event's mle.priority (instead of the highest
-- finding score); past `threshold` it is a finding whose reason lists what contributed:
--   "beacon 0.97 + dga 0.91 on 10.0.0.5 within 40 min"
-- Events without any evidence get no priority and cost no field read (mle.has_findings
-- answers in Lua; the event type comes with mle.fields).

analyzer = { event_types = { "alert", "drop" }, with_findings = true, order = 90 }

local s = mle.settings{
  threshold = 0.5,          -- a triage finding from this priority
  default_weight = 0.8,     -- weight of an analyzer not in `weights`
  weights = {},             -- per analyzer tag, e.g. { ["my-counter"] = 0.1 }
  alert_weight = 1.0,       -- weight of a Suricata alert's own value
  severity = { 0.8, 0.5, 0.25 },   -- an alert's value by severity 1, 2, 3 (4: the last)
  classes = {},             -- per ET class (word after "ET "), merged over the built-in ones
  host_weight = 0.5,        -- how much the host's other evidence counts
  context_floor = 0.2,      -- a host's evidence counts only from this weighted score
  window = 3600,            -- seconds of event time a host's evidence counts
  hosts = 20000,            -- hosts kept per worker (LRU)
}

local CLASSES = {
  MALWARE = 0.95, TROJAN = 0.95, CNC = 0.95, MOBILE_MALWARE = 0.95, WORM = 0.95, EXPLOIT_KIT = 0.95,
  PHISHING = 0.9, EXPLOIT = 0.85, ATTACK_RESPONSE = 0.9, CURRENT_EVENTS = 0.7, JA3 = 0.6,
  COMPROMISED = 0.6, DROP = 0.5, CINS = 0.5, DSHIELD = 0.5, TOR = 0.4, SCAN = 0.4,
}
for k, v in pairs(s.classes) do CLASSES[k] = v end

local cache = require "mle.cache"
local hosts = cache.LRU(s.hosts)
local format, concat, match, floor = string.format, table.concat, string.match, math.floor
local date2epoch = dragonfly.date2epoch

-- a Suricata alert's value and its source name, remembered per signature id (a sensor
-- fires a few hundred distinct signatures; at most 4,096 are kept)
local by_sid, n_sid = {}, 0
local function alert_evidence(alert)
  local sid = alert.signature_id
  local known = sid and by_sid[sid]
  if known then return known[1], known[2], known[3] end
  local sev = tonumber(alert.severity) or #s.severity
  local value = s.severity[sev] or s.severity[#s.severity]
  local sig = alert.signature
  local class = type(sig) == "string" and match(sig, "^ET ([%u_%d]+)") or nil
  local by_class = class and CLASSES[class]
  if by_class and by_class > value then value = by_class end
  local source = "alert " .. (class or (type(sig) == "string" and match(sig, "^(%u+)")) or "?")
  if sid then
    if n_sid >= 4096 then by_sid, n_sid = {}, 0 end
    by_sid[sid], n_sid = { source, value, sig }, n_sid + 1
  end
  return source, value, sig
end

-- seconds since the epoch of an EVE timestamp: the minute's epoch (with the offset)
-- remembered, the seconds read each time
local minutes, n_minutes = {}, 0
local sub = string.sub
local function epoch(ts)
  if type(ts) ~= "string" or #ts < 26 then return 0 end
  local key = sub(ts, 1, 16) .. sub(ts, 27)
  local base = minutes[key]
  if base == nil then
    base = date2epoch(sub(ts, 1, 17) .. "00" .. sub(ts, 27))
    if base == nil then return 0 end
    if n_minutes >= 1024 then minutes, n_minutes = {}, 0 end
    minutes[key], n_minutes = base, n_minutes + 1
  end
  return base + (tonumber(sub(ts, 18, 26)) or 0)
end

local function by_weight(x, y)
  if x[4] ~= y[4] then return x[4] > y[4] end
  return x[1] < y[1]
end

function loop(msg)
  local fields = mle.fields(msg)
  local et = fields.event_type
  local is_alert = et == "alert" or et == "drop"   -- a drop record carries its alert too
  local has_findings = mle.has_findings(msg)   -- answered in Lua: msg.mle is read only when true
  if not is_alert and not has_findings then return end
  local a = has_findings and msg.mle
  local findings = a and a.findings
  local alert
  if findings == nil then
    if not is_alert then return end
    alert = fields.alert
    if alert == nil then return end
  elseif is_alert then
    alert = fields.alert
  end

  -- this event's evidence: {source, raw score, weighted, note}
  local ev, n = {}, 0
  local own = 1
  if findings then
    for _, f in ipairs(findings) do
      local tag, score = f.analyzer, tonumber(f.score) or 0
      if tag ~= mle.tag then
        local w = s.weights[tag] or s.default_weight
        n = n + 1
        ev[n] = { tag, score, w * score }
        own = own * (1 - w * score)
      end
    end
  end
  if alert then
    local source, value, sig = alert_evidence(alert)
    n = n + 1
    ev[n] = { source, value, s.alert_weight * value, sig }
    own = own * (1 - s.alert_weight * value)
  end
  if n == 0 then return end
  own = 1 - own

  -- the host's other evidence within the window, then this event's added to it
  local src = fields.src_ip or "?"
  local t = epoch(fields.timestamp)
  local h = hosts:get(src)
  if h == nil then
    h = {}
    hosts:set(src, h)
  end
  -- one pass over the host's sources: forget the expired, count the others
  local p, others, earliest = 1 - own, nil, t
  local window, floor_w, host_weight = s.window, s.context_floor, s.host_weight
  for source, e in pairs(h) do
    local age = t - e[2]
    if age > window then
      h[source] = nil
    elseif e[1] >= floor_w and -age <= window then
      local mine = false
      for i = 1, n do
        if ev[i][1] == source then mine = true; break end
      end
      if not mine then
        others = others or {}
        others[#others + 1] = { source, e[3], e[2], e[1] }
        if e[2] < earliest then earliest = e[2] end
      end
    end
  end
  if others then
    -- strongest first, ties by name: the product and the reason come out the same
    -- whatever order pairs() walked the host's sources in
    table.sort(others, by_weight)
    for i = 1, #others do p = p * (1 - host_weight * others[i][4]) end
  end
  p = 1 - p
  for i = 1, n do
    local source, raw, weighted = ev[i][1], ev[i][2], ev[i][3]
    local e = h[source]
    if e == nil then
      h[source] = { weighted, t, raw }     -- strongest weighted score, last time, its raw score
    else
      if e[1] < weighted then e[1], e[3] = weighted, raw end
      if t > e[2] then e[2] = t end
    end
  end

  if p < s.threshold then
    mle.set_priority(msg, p)
    return
  end
  local parts = {}
  for i = 1, n do
    local e = ev[i]
    if e[3] >= 0.1 or n == 1 then    -- leave out what weighs next to nothing
      local text = format("%s %.2f", e[1], e[2])
      local w = e[2] > 0 and e[3] / e[2] or 1
      if w < 0.5 then text = text .. format(" (x%.1f)", w) end   -- a down-weighted analyzer
      if e[4] then text = text .. " [" .. tostring(e[4]) .. "]" end
      parts[#parts + 1] = text
    end
  end
  local why
  if others then
    for i = 1, #others do parts[#parts + 1] = format("%s %.2f", others[i][1], others[i][2]) end
  end
  why = concat(parts, " + ") .. " on " .. src
  if others then
    local minutes = floor(math.abs(t - earliest) / 60 + 0.5)
    why = why .. (minutes < 1 and " within a minute" or format(" within %d min", minutes))
  end
  mle.set_priority(msg, p, why)
end
