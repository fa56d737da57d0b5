-- beacon: command-and-control beaconing, connections at regular intervals from a host
-- to one destination, scored streaming from the statistics of the gaps between them.
--
-- Only sources inside mle.home_net are followed (`sources = "internal"`, as RITA scores
-- internal hosts; "all" follows every source). A destination is (domain or address, port): the TLS SNI or HTTP hostname of the
-- connection when a tls/http event of the same flow came first (so a beacon whose
-- server rotates addresses behind one name still adds up), else dest_ip. Each flow
-- event is one connection at flow.start. Per (source, destination) a bounded LRU
-- (mle.cache; events sharded by src_ip keep a source on one worker) holds the last
-- `max_intervals` gaps and bytes sent. Connections closer than `strobe_gap` seconds
-- are one burst (no gap), so a strobe (several connections a second) never forms
-- intervals and is no beacon. A flow that starts while the previous flow of the pair
-- was alive for most of the gap (its age over half the gap) continues one long
-- session that Suricata's flow timeout split (a UDP keep-alive stream logged every
-- few hundred seconds): no gap either.
--
-- Score, RITA's ideas made streaming (each event scored on the state before the
-- next one, from the 4th connection on):
--   gaps  ((1 - |Bowley skew|) + max(0, (median - MAD) / median)) / 2, where the
--         skew counts as 0 when the interquartile range is under `jitter_tolerance`
--         of the median (tolerates jitter) ;
--   sizes the same over bytes sent (IQR tolerance `size_tolerance` bytes);
--   score = gaps * ((1 - size_weight) + size_weight * sizes) * confidence (regular
--         sizes confirm, irregular ones lower the score; they never make it),
--   confidence rising from 0.5 at 4 connections to 1 at `full_connections`.
-- A finding from `min_connections` connections when the score reaches `threshold`.
-- Flows to broadcast/multicast addresses are ignored (announcements are periodic by
-- design).

analyzer = { event_types = { "flow", "tls", "http" }, order = 40 }

local cache = require "mle.cache"
local net = require "mle.net"
local sub, find, tonumber, floor, format = string.sub, string.find, tonumber, math.floor, string.format

local s = mle.settings{
  threshold = 0.8,          -- score for a finding
  min_connections = 6,      -- connections before any finding
  full_connections = 10,    -- connections for full confidence
  strobe_gap = 1.0,         -- seconds: closer connections are one burst
  jitter_tolerance = 0.1,   -- IQR / median under which the gap skew counts as 0
  size_tolerance = 64,      -- bytes: IQR of sizes under which their skew counts as 0
  size_weight = 0.3,        -- share of the size regularity in the score
  max_intervals = 20,       -- gaps (and sizes) kept per pair
  max_pairs = 50000,        -- pairs kept per worker (LRU)
  max_domains = 20000,      -- flow_id -> SNI/hostname kept per worker (LRU)
  sources = "internal",     -- "internal": sources in mle.home_net only; "all": every source
}
if s.sources ~= "internal" and s.sources ~= "all" then error('beacon: sources must be "internal" or "all"') end
local ALL_SOURCES = s.sources == "all"

-- Is a source internal? With the default home_net (RFC 1918, loopback, link-local,
-- fc00::/7, fe80::/10, ::1) a few byte reads answer (net.is_internal parses each new
-- address: ~9 us, and nearly every source is new to it on a busy sensor); any other
-- home_net goes to net.is_internal.
local byte = string.byte
local DEFAULT_HOME = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
  "fc00::/7", "fe80::/10", "::1/128" }
local default_home = #(mle.home_net or {}) == #DEFAULT_HOME
for i, cidr in ipairs(DEFAULT_HOME) do
  if not default_home or mle.home_net[i] ~= cidr then default_home = false end
end
local function default_internal(ip)
  local c = byte(ip, 1)
  if c == 49 then -- "1"
    local c2, c3 = byte(ip, 2), byte(ip, 3)
    if c2 == 48 then return c3 == 46 end -- "10."
    if c2 == 57 and c3 == 50 then return sub(ip, 1, 8) == "192.168." end
    if c2 == 50 and c3 == 55 then return byte(ip, 4) == 46 end -- "127."
    if c2 == 55 and c3 == 50 and byte(ip, 4) == 46 then -- "172.16-31."
      local b = tonumber(sub(ip, 5, 6))
      return b ~= nil and b >= 16 and b <= 31 and byte(ip, 7) == 46
    end
    if c2 == 54 and c3 == 57 then return sub(ip, 1, 8) == "169.254." end
    return false
  end
  if c == 102 or c == 70 then -- fc00::/7, fe80::/10
    local c2 = byte(ip, 2)
    if c2 == 99 or c2 == 100 or c2 == 67 or c2 == 68 then return true end
    if c2 == 101 or c2 == 69 then return net.is_internal(ip) end
    return false
  end
  return c == 58 and net.is_internal(ip) -- "::1"
end
local is_internal = default_home and default_internal or net.is_internal

local abs, sort = math.abs, table.sort
local score, finding = mle.score, mle.finding
local THRESH, MINC, FULLC = s.threshold, s.min_connections, s.full_connections
local STROBE, JTOL, STOL, SW, MAXI = s.strobe_gap, s.jitter_tolerance, s.size_tolerance,
  s.size_weight, s.max_intervals

local epoch = require("mle.eve").epoch -- event time, with the fraction

-- broadcast (255.255.255.255), IPv4 multicast (224-239.x) and IPv6 multicast (ff00::/8);
-- one byte read for most addresses
local function ignored_dest(ip)
  local c = byte(ip, 1)
  if c == 50 then -- "2": 2xx.
    if byte(ip, 4) ~= 46 then return false end
    local a = tonumber(sub(ip, 1, 3))
    return a ~= nil and a >= 224 and (a <= 239 or ip == "255.255.255.255")
  end
  return (c == 102 or c == 70) and (byte(ip, 2) == 102 or byte(ip, 2) == 70)
end

-- statistics over a ring ------------------------------------------------------------------
local scratch, dev = {}, {}

-- quantile q of the sorted array a[1..m] (linear interpolation)
local function quantile(a, m, q)
  local pos = 1 + (m - 1) * q
  local lo = floor(pos)
  local frac = pos - lo
  if lo >= m then return a[m] end
  return a[lo] + (a[lo + 1] - a[lo]) * frac
end

-- RITA's regularity of the values in ring[1..m]: ((1 - |Bowley|) + MAD score) / 2;
-- also returns the median and MAD
local function regularity(ring, m, tol_rel, tol_abs)
  for i = 1, m do scratch[i] = ring[i] end
  for i = m + 1, #scratch do scratch[i] = nil end
  sort(scratch)
  local q1, q2, q3 = quantile(scratch, m, 0.25), quantile(scratch, m, 0.5), quantile(scratch, m, 0.75)
  for i = 1, m do dev[i] = abs(scratch[i] - q2) end
  for i = m + 1, #dev do dev[i] = nil end
  sort(dev)
  local mad = quantile(dev, m, 0.5)
  local iqr = q3 - q1
  local skew = 0
  if iqr > tol_rel * q2 and iqr > tol_abs then skew = (q1 + q3 - 2 * q2) / iqr end
  local madscore = 0
  if q2 > 0 then madscore = (q2 - mad) / q2 end
  if madscore < 0 then madscore = 0 end
  if q2 <= 0 and mad == 0 then madscore = 1 end -- all zero (e.g. empty payloads): regular
  return ((1 - abs(skew)) + madscore) / 2, q2, mad
end

local function duration(d)
  if d >= 7200 then return format("%.1f h", d / 3600) end
  if d >= 120 then return format("%.0f min", d / 60) end
  return format("%.0f s", d)
end

local pairs_ = cache.LRU(s.max_pairs)
local domains = cache.LRU(s.max_domains)

function loop(msg)
  local fields = mle.fields(msg)
  local f = fields.flow
  if f == nil then
    -- a tls or http event (no flow object): remember the name of its flow
    local name
    local tls = fields.tls
    if tls ~= nil then
      name = tls.sni
    else
      local http = fields.http
      name = http and http.hostname
    end
    if type(name) == "string" and name ~= "" then
      local fid = fields.flow_id
      if fid ~= nil then domains:set(fid, name) end
    end
    return
  end
  local src = fields.src_ip
  if src == nil or not (ALL_SOURCES or is_internal(src)) then return end
  local dst = fields.dest_ip
  if dst == nil or ignored_dest(dst) then return end
  local start = f.start
  if start == nil then return end
  local port = fields.dest_port or 0
  local name = domains:get(fields.flow_id)
  local key = src .. ">" .. (name or dst) .. ":" .. port
  local p = pairs_:get(key)
  if p == nil then
    -- a pair seen once is its start time text alone (most pairs are: a table and a
    -- parse cost more than a string kept as it is)
    pairs_:set(key, start)
    return
  end
  local t = epoch(start)
  if t == nil then return end
  if type(p) == "string" then
    local t0 = epoch(p) or t
    p = { n = 1, first = t0, last = t0, age = 0 }
    pairs_:set(key, p)
  end
  p.n = p.n + 1
  local gap = t - p.last
  local prev_age = p.age
  p.age = f.age or 0
  if gap < STROBE or prev_age > 0.5 * gap then
    -- same burst, out of order, or one long session split by the flow timeout: no gap
    if gap > 0 then p.last = t end
    return
  end
  p.last = t
  local iv, sz = p.iv, p.sz
  if iv == nil then
    iv, sz = {}, {}
    p.iv, p.sz, p.k, p.m = iv, sz, 0, 0
  end
  local k = p.k % MAXI + 1
  iv[k], sz[k] = gap, f.bytes_toserver or 0
  p.k = k
  local m = p.m
  if m < MAXI then m = m + 1; p.m = m end
  if m < 3 then return end -- scored from the 4th connection
  local conns = m + 1
  local ts_score, median, mad = regularity(iv, m, JTOL, 0)
  local size_score = regularity(sz, m, 0, STOL)
  local conf = 1
  if conns < FULLC then conf = 0.5 + 0.5 * (conns - 4) / (FULLC - 4) end
  local sc = ts_score * ((1 - SW) + SW * size_score) * conf
  if sc >= THRESH and p.n >= MINC then
    local target = dst .. ":" .. port
    if name then target = name .. " (" .. target .. ")" end
    finding(msg, sc, format("beacon: %s connects every %.1f s (jitter %.0f %%) for %s to %s (%d connections)",
      src, median, 100 * mad / median, duration(t - p.first), target, p.n))
  else
    score(msg, sc)
  end
end
