-- scan: horizontal port scans, vertical port scans and ICMP sweeps, per source host.
--
-- Reads flow events. For each source, in tumbling windows of event time (flow.start,
-- never the wall clock; `window` seconds from the source's first flow of the window):
--   horizontal  distinct destinations per (source, protocol/port)
--   vertical    distinct protocol/ports per (source, destination)
--   ICMP sweep  distinct targets of echo requests (ICMP 8, ICMPv6 128) per source
-- Each target counts once, weighted by whether the probe was answered: an unanswered
-- probe (no packet back, or a TCP flow whose client never sent an ACK: SYN then RST,
-- a rejected or half-open connection) weighs 1, an answered connection
-- `answered_weight`. Targets are kept in exact sets, at most `max_targets` per set and
-- `max_members` per source and window, so memory stays bounded; sources live in a
-- bounded LRU (mle.cache), which is correct when events are sharded by src_ip.
--
-- Thresholds follow Slips: a scan is reported from `threshold` weighted targets (10),
-- with levels at 10x and 100x (100, 1000); an ICMP sweep from `icmp_threshold` (5).
-- Every event of a dimension past its threshold carries a finding; the score rises
-- with the level: 0.8 at the threshold, 0.9 at 10x, 1.0 at 100x; below it
-- 0.7 * weighted targets / threshold. A source's first flow in a window gets no score
-- (it would be 0.07 at most, and recording a score is the dearest call of the path).
--
-- Ignored: flows to broadcast and multicast addresses, and UDP flows from a well-known
-- service port to a high port (the answer side of a service, e.g. SSDP replies from
-- port 1900 to a client's ephemeral ports, which Suricata logs in that direction).

analyzer = { event_types = { "flow" }, order = 40 }

local cache = require "mle.cache"

local s = mle.settings{
  window = 3600,          -- seconds of event time per counting window
  threshold = 10,         -- weighted distinct targets for a horizontal/vertical scan
  icmp_threshold = 5,     -- distinct echo-request targets for an ICMP sweep
  answered_weight = 0.05, -- weight of an answered (established) connection; unanswered = 1
  max_targets = 1100,     -- exact set cap per dimension (past the top level, 100x threshold)
  max_members = 20000,    -- targets kept per source and window, all dimensions together
  max_sources = 100000,   -- sources kept per worker (LRU)
}

local sub, find, tonumber, floor, format = string.sub, string.find, tonumber, math.floor, string.format
local score, finding = mle.score, mle.finding
local WINDOW, THRESH, ITHRESH = s.window, s.threshold, s.icmp_threshold
local AW, MAXT, MAXM = s.answered_weight, s.max_targets, s.max_members

local epoch = require("mle.eve").epoch -- event time, with the fraction

-- addresses that are no scan target: broadcast and multicast ----------------------------
-- broadcast (255.255.255.255), IPv4 multicast (224-239.x) and IPv6 multicast (ff00::/8);
-- one byte read for most addresses
local byte = string.byte
local function ignored_dest(ip)
  local c = byte(ip, 1)
  if c == 50 then -- "2": 2xx.
    if byte(ip, 4) ~= 46 then return false end
    local a = tonumber(sub(ip, 1, 3))
    return a ~= nil and a >= 224 and (a <= 239 or ip == "255.255.255.255")
  end
  return (c == 102 or c == 70) and (byte(ip, 2) == 102 or byte(ip, 2) == 70)
end

-- "well-known service port to a high port" over UDP: the reply side of a service
local function udp_reply(sport, dport)
  return sport ~= nil and dport ~= nil and (sport < 1024 or sport == 1900 or sport == 5353
    or sport == 5355 or sport == 3702) and dport >= 1024
end

-- per-source state ----------------------------------------------------------------------
-- A source is one table: t0 (window start), members (targets kept), and its dimensions
-- under their keys: a horizontal dimension under the protocol/port number
-- (proto code * 65536 + port), a vertical one under the destination address, the ICMP
-- sweep under ICMP. A dimension is one table: n (targets), w (weighted), un
-- (unanswered), t0/t1 (first/last probe time) and its targets as keys (addresses or
-- port numbers, which never collide with those names). A source seen once keeps its
-- flow in five fields (pd, pk, pw, pu, pt) and gets dimensions from its second flow:
-- most sources on a busy sensor are seen once, and a table costs more than a field.
local sources = cache.LRU(s.max_sources)
local ICMP = -1

-- add target to the dimension under key; returns the dimension
local function add(st, key, target, weight, unanswered, t)
  local dim = st[key]
  if dim == nil then
    dim = { n = 0, w = 0, un = 0, t0 = t, t1 = t }
    st[key] = dim
  end
  if dim[target] or dim.n >= MAXT or st.members >= MAXM then return dim end
  dim[target] = true
  dim.n, dim.w = dim.n + 1, dim.w + weight
  if unanswered then dim.un = dim.un + 1 end
  if t < dim.t0 then dim.t0 = t end
  if t > dim.t1 then dim.t1 = t end
  st.members = st.members + 1
  return dim
end

-- count one probe (pkey ICMP for an echo request); returns its dimensions
local function count(st, dst, pkey, weight, unanswered, t)
  if pkey == ICMP then return add(st, "icmp", dst, weight, unanswered, t), nil end
  return add(st, pkey, dst, weight, unanswered, t), add(st, dst, pkey, weight, unanswered, t)
end

-- the source's state for a probe at t; nil when this is its first flow (kept pending)
local function state(src, dst, pkey, weight, unanswered, t)
  local st = sources:get(src)
  if st == nil or t >= st.t0 + WINDOW then
    sources:set(src, { t0 = t, members = 0, pd = dst, pk = pkey, pw = weight, pu = unanswered, pt = t })
    return nil
  end
  local pd = st.pd
  if pd ~= nil then
    st.pd = nil
    count(st, pd, st.pk, st.pw, st.pu, st.pt)
  end
  return st
end

local function level_score(w, thresh)
  if w < thresh then return 0.7 * w / thresh end
  if w >= 100 * thresh then return 1.0 end
  if w >= 10 * thresh then return 0.9 end
  return 0.8
end

local function span(dim)
  local d = dim.t1 - dim.t0
  if d >= 120 then return format("%.0f min", d / 60) end
  return format("%.0f s", d)
end

local PROTO_NAME = { [0] = "TCP", [1] = "UDP", [2] = "SCTP" }
local PROTO_CODE = { TCP = 0, UDP = 1, SCTP = 2 }

local function port_name(key)
  return PROTO_NAME[floor(key / 65536)] .. "/" .. (key % 65536)
end

function loop(msg)
  local fields = mle.fields(msg)
  local f = fields.flow
  if f == nil then return end
  local dst = fields.dest_ip
  if dst == nil or ignored_dest(dst) then return end
  local t = epoch(f.start or fields.timestamp)
  if t == nil then return end
  local src, proto = fields.src_ip, fields.proto
  local toclient = f.pkts_toclient or 0

  local code = PROTO_CODE[proto]
  if code == nil then
    -- ICMP echo requests: a sweep
    local it = msg.icmp_type
    if not ((it == 8 and proto == "ICMP") or (it == 128 and proto == "IPv6-ICMP")) then return end
    local st = state(src, dst, ICMP, 1, toclient == 0, t)
    if st == nil then return end -- a source's first flow: no score (a score costs ~4 us)
    local dim = count(st, dst, ICMP, 1, toclient == 0, t)
    local w = dim.w
    if w >= ITHRESH then
      finding(msg, level_score(w, ITHRESH), format(
        "ICMP sweep: %s sent echo requests to %d hosts in %s (%d unanswered; threshold %d)",
        src, dim.n, span(dim), dim.un, ITHRESH))
    else
      score(msg, level_score(w, ITHRESH))
    end
    return
  end

  local dport = fields.dest_port
  if dport == nil then return end
  if code == 1 and udp_reply(fields.src_port, dport) then return end
  local unanswered
  if toclient == 0 then
    unanswered = true
  elseif code == 0 then
    -- TCP: answered only if the client completed the handshake (sent an ACK)
    local tcp = msg.tcp
    local fl = tcp and tcp.tcp_flags_ts
    if fl ~= nil then
      local bits = tonumber(fl, 16) or 0
      unanswered = floor(bits / 16) % 2 == 0
    else
      unanswered = f.state == "new"
    end
  else
    unanswered = false
  end
  local weight = unanswered and 1 or AW
  local pkey = code * 65536 + dport

  local st = state(src, dst, pkey, weight, unanswered, t)
  if st == nil then return end -- a source's first flow: no score (a score costs ~4 us)
  local h, v = count(st, dst, pkey, weight, unanswered, t)
  local hw, vw = h.w, v.w
  if hw >= THRESH and hw >= vw then
    finding(msg, level_score(hw, THRESH), format(
      "horizontal scan: %s probed %d hosts on %s in %s (%d unanswered; threshold %d)",
      src, h.n, port_name(pkey), span(h), h.un, THRESH))
  elseif vw >= THRESH then
    finding(msg, level_score(vw, THRESH), format(
      "vertical scan: %s probed %d ports on %s in %s (%d unanswered; threshold %d)",
      src, v.n, dst, span(v), v.un, THRESH))
  else
    score(msg, level_score(hw > vw and hw or vw, THRESH))
  end
end
