-- bruteforce: password guessing against a login service, from flows and HTTP 401s.
--
-- An attempt is a short session to a login service: a TCP flow to a service port
-- (ssh 22, telnet 23, ftp 21, smtp-submission 587/465, pop3/imap 110/143/993/995,
-- smb 139/445, mssql 1433, oracle 1521, mysql 3306, rdp 3389, postgresql 5432,
-- vnc 5900, winrm 5985/5986, ..., or app_proto ssh/ftp/rdp/smb/telnet on another port)
-- whose handshake completed (the client sent an ACK and the server answered) and that
-- stayed short (`max_duration` seconds, `max_bytes` sent): a guess, not a working
-- session. An HTTP event with status 401 is an attempt against that web server.
-- A rejected connection (closed port) is no attempt: that is a scan.
--
-- Per (source, destination, port) the analyzer keeps the times of the last
-- `threshold` attempts (a ring): once `threshold` attempts fall within `window`
-- seconds of event time (flow.start; the record's timestamp for HTTP) the attempt
-- carries a finding. Slips reports 9 failed attempts per (source, destination, port);
-- Zeek's SSH notice is 30 in 30 minutes. Score: 0.8 * attempts in the window /
-- threshold below it; from the threshold 0.8 rising to 1.0 at `strong` attempts in
-- the current burst (a burst ends after `window` seconds without an attempt).
-- State: a bounded LRU of keys (events sharded by src_ip keep a source on one worker).

analyzer = { event_types = { "flow", "http" }, order = 40 }

local cache = require "mle.cache"

local s = mle.settings{
  threshold = 9,        -- attempts within `window` for a finding (Slips: 9)
  window = 1800,        -- seconds (Zeek: 30 attempts in 30 min)
  strong = 30,          -- attempts in a burst for score 1.0
  max_duration = 30,    -- a session longer than this (flow.age, s) is no guess
  max_bytes = 65536,    -- nor one that sent more than this many bytes to the server
  max_keys = 100000,    -- (source, destination, port) keys kept per worker (LRU)
}

local sub, tonumber, floor, format = string.sub, tonumber, math.floor, string.format
local score, finding = mle.score, mle.finding
local THRESH, WINDOW, STRONG = s.threshold, s.window, s.strong
local MAXDUR, MAXBYTES = s.max_duration, s.max_bytes

local SERVICES = {
  [21] = "ftp", [22] = "ssh", [23] = "telnet", [110] = "pop3", [139] = "smb",
  [143] = "imap", [445] = "smb", [465] = "smtps", [587] = "smtp-submission",
  [993] = "imaps", [995] = "pop3s", [1433] = "mssql", [1521] = "oracle",
  [2222] = "ssh", [3306] = "mysql", [3389] = "rdp", [5432] = "postgresql",
  [5900] = "vnc", [5985] = "winrm", [5986] = "winrm", [6379] = "redis",
  [27017] = "mongodb",
}
local APP_SERVICES = { ssh = "ssh", ftp = "ftp", rdp = "rdp", smb = "smb", telnet = "telnet" }

local epoch = require("mle.eve").epoch -- event time, with the fraction

local keys = cache.LRU(s.max_keys)

local function minutes(d)
  if d >= 120 then return (format("%.1f min", d / 60):gsub("%.0 min", " min")) end
  return format("%.0f s", d)
end

-- count one attempt of service `svc` at time t; annotate msg
local function attempt(msg, svc, src, dst, port, t, what)
  local key = src .. "|" .. dst .. "|" .. port
  local k = keys:get(key)
  if k == nil or t - k.last > WINDOW then
    k = { ring = {}, i = 0, n = 0, first = t, last = t }
    keys:set(key, k)
  end
  local ring, i = k.ring, k.i % THRESH + 1
  ring[i], k.i = t, i
  k.n = k.n + 1
  if t > k.last then k.last = t end
  -- attempts of the ring within the window ending at t
  local inwin, oldest = 0, t
  for j = 1, #ring do
    local tj = ring[j]
    if t - tj <= WINDOW then
      inwin = inwin + 1
      if tj < oldest then oldest = tj end
    end
  end
  if inwin >= THRESH then
    local n = k.n
    local sc = 0.8 + 0.2 * math.min(1, (n - THRESH) / math.max(1, STRONG - THRESH))
    finding(msg, sc, format("password guessing on %s: %d %s from %s to %s:%d in %s (the last %d within %s; threshold %d in %s)",
      svc, n, what, src, dst, port, minutes(k.last - k.first), inwin, minutes(t - oldest), THRESH, minutes(WINDOW)))
  else
    score(msg, 0.8 * inwin / THRESH)
  end
end

function loop(msg)
  local fields = mle.fields(msg)
  local et = fields.event_type
  if et == "http" then
    local h = fields.http
    if h == nil or h.status ~= 401 then return end
    local t = epoch(fields.timestamp)
    if t == nil then return end
    attempt(msg, "http auth", fields.src_ip, fields.dest_ip, fields.dest_port or 0, t, "HTTP 401 responses")
    return
  end
  local port = fields.dest_port
  local svc = SERVICES[port]
  if svc == nil then
    svc = APP_SERVICES[fields.app_proto]
    if svc == nil then return end
  end
  if fields.proto ~= "TCP" then return end
  local f = fields.flow
  if f == nil then return end
  -- a completed handshake, answered
  if (f.pkts_toclient or 0) == 0 then return end
  local tcp = msg.tcp
  local fl = tcp and tcp.tcp_flags_ts
  if fl ~= nil then
    if floor((tonumber(fl, 16) or 0) / 16) % 2 == 0 then return end
  elseif f.state == "new" then
    return
  end
  -- short and small: a guess, not a session
  if (f.age or 0) > MAXDUR or (f.bytes_toserver or 0) > MAXBYTES then return end
  local t = epoch(f.start or fields.timestamp)
  if t == nil then return end
  attempt(msg, svc, fields.src_ip, fields.dest_ip, port, t, "short connections")
end
