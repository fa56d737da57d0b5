-- tls: certificate problems and unusual TLS clients.
--
-- Looks at each TLS handshake record (Suricata 6, 7 and 8: tls.subject, issuerdn,
-- notbefore, notafter, sni, version, ja3.hash, ja4) for:
--   - an expired certificate (notafter before the event time) or one not yet valid;
--   - a self-signed certificate (subject == issuerdn);
--   - an SNI the certificate's subject CN does not cover (exact or one-label wildcard);
--     within the same registered domain it is probably a subjectAltName Suricata does
--     not log, so that counts little;
--   - an obsolete protocol version (SSL 2/3, TLS 1.0/1.1);
--   - a JA3/JA4 client fingerprint or an SNI this host never used before (past a
--     burn-in of its own sessions), more so when it is also rare on this worker.
-- Each signal has a weight; they combine as independent evidence
-- (1 - prod(1 - w)) into the score, and a finding names every signal that fired.
-- State is local and bounded: per source host (mle.cache.LRU; events sharded by
-- src_ip keep a host on one worker) and per worker (value counts, generations).
--
--   "self-signed certificate CN=foo for sni bar.com; JA3 e7d705a3... first seen
--    from 10.0.0.5 (1 of 214 TLS sessions)"

analyzer = { event_types = { "tls" }, order = 40 }

local cache = require "mle.cache"

local s = mle.settings{
  threshold = 0.5,        -- a finding at or above this score
  burn_in = 20,           -- TLS sessions of a host before its new fingerprints count
  hosts = 50000,          -- source hosts remembered per worker (LRU)
  values_per_host = 256,  -- distinct JA3/JA4/SNI values kept per host; beyond, its new values are not judged
  worker_values = 50000,  -- distinct values counted per worker (two generations)
  worker_burn_in = 1000,  -- TLS sessions on this worker before "rare on this worker" counts
  rare_share = 0.001,     -- a value seen in fewer than this share of the worker's sessions is rare
  w_expired = 0.8,        -- weights of the signals
  w_not_yet_valid = 0.7,
  w_self_signed = 0.6,
  w_mismatch = 0.35,      -- SNI outside the certificate's registered domain (SANs are not logged: alone, no finding)
  w_mismatch_same_domain = 0.1,
  w_obsolete = 0.3,
  w_new_fingerprint = 0.3,  -- JA3/JA4 new for the host
  w_rare_fingerprint = 0.6, -- ... and rare on this worker
  w_new_sni = 0.1,          -- SNI new for the host and rare on this worker
}

local hosts = cache.LRU(s.hosts)           -- src_ip -> sessions (first ones) or { sessions, k, values... }
local TRACK_AFTER = 3                      -- a host's values are kept from its 3rd session on
local worker = cache.LRU(s.worker_values)   -- JA3, JA4 or SNI -> sessions seen
local worker_n = 0

local find, sub, lower, match, concat = string.find, string.sub, string.lower, string.match, table.concat
local date2epoch, os_date = dragonfly.date2epoch, os.date

local OBSOLETE = { ["SSLv2"] = true, ["SSLv3"] = true, ["TLSv1"] = true, ["TLS 1.0"] = true,
                   ["TLS 1.1"] = true, ["TLSv1.1"] = true, ["SSL 2.0"] = true, ["SSL 3.0"] = true }

-- the event time as "YYYY-MM-DDTHH:MM:SS" in UTC, comparable to notbefore/notafter
local last_ts, last_utc
local function utc_of(ts)
  if ts == last_ts then return last_utc end
  local utc
  if sub(ts, -5) == "+0000" or sub(ts, -1) == "Z" then
    utc = sub(ts, 1, 19)
  else
    local epoch = date2epoch(ts)
    utc = epoch and os_date("!%Y-%m-%dT%H:%M:%S", epoch)
  end
  last_ts, last_utc = ts, utc
  return utc
end

local function cn_of(dn)
  if dn == nil then return nil end
  local cn = match(dn, "CN=([^,]+)")
  return cn and lower(cn)
end

-- the registered domain, roughly: the last two labels, three under a short
-- second-level label (co.uk, com.au)
local function base_domain(name)
  local a, b = match(name, "([^.]+)%.([^.]+)$")
  if not a then return name end
  if #a <= 3 and #b == 2 then
    local c = match(name, "([^.]+)%.[^.]+%.[^.]+$")
    if c then return c .. "." .. a .. "." .. b end
  end
  return a .. "." .. b
end

-- 0: the CN covers the SNI; 1: same registered domain; 2: another name
local function mismatch(sni, cn)
  if sni == cn then return 0 end
  if sub(cn, 1, 2) == "*." then
    local rest = sub(cn, 2)            -- ".example.com"
    local dot = find(sni, ".", 1, true)
    if dot and sub(sni, dot) == rest then return 0 end
  end
  if base_domain(sni) == base_domain(cn) then return 1 end
  return 2
end

-- how often this worker saw value (then counts it). Values of the three kinds share
-- one table: a JA3 is 32 hex digits, a JA4 has underscores, an SNI dots.
local function worker_seen(value)
  local c = worker:get(value) or 0
  worker:set(value, c + 1)
  return c
end

-- is value new for this host? (nil when the host's set is full). The host's record
-- is one table: [1] its sessions, [2] its distinct values, its values as keys.
local function host_new(h, value)
  if h[value] then return false end
  local k = h[2]
  if k >= s.values_per_host then return nil end
  h[value] = true
  h[2] = k + 1
  return true
end

-- the signals of the current event: prod(1 - w) and their reasons (a table only
-- when one fires)
local keep, reasons = 1.0, nil
local function add(w, text)
  keep = keep * (1 - w)
  if reasons == nil then reasons = { text } else reasons[#reasons + 1] = text end
end

local function describe(cn, subject, sni)
  return (cn and "CN=" .. cn or subject) .. (sni and sni ~= "" and " for sni " .. sni or "")
end

local function short(hash) return #hash > 12 and sub(hash, 1, 8) .. "..." or hash end

function loop(msg)
  local fields = mle.fields(msg)
  local tls = fields.tls
  if tls == nil then return end
  local subject, issuer, notbefore, notafter, sni, version, ja3, ja4 =
    tls.subject, tls.issuerdn, tls.notbefore, tls.notafter, tls.sni, tls.version, tls.ja3, tls.ja4
  if ja3 ~= nil then ja3 = ja3.hash end
  if type(ja4) == "table" then ja4 = ja4.hash end   -- some builds log {hash = ...}
  if sni ~= nil then sni = lower(sni) end

  keep, reasons = 1.0, nil

  if subject ~= nil then
    local cn = cn_of(subject)
    local now = utc_of(fields.timestamp or "")
    if now then
      if notafter ~= nil and notafter < now then
        add(s.w_expired, "certificate " .. describe(cn, subject, sni) .. " expired " .. notafter)
      elseif notbefore ~= nil and notbefore > now then
        add(s.w_not_yet_valid, "certificate " .. describe(cn, subject, sni) .. " not valid before " .. notbefore)
      end
    end
    if issuer ~= nil and subject == issuer then
      add(s.w_self_signed, "self-signed certificate " .. describe(cn, subject, sni))
    end
    if cn and sni and sni ~= "" then
      local m = mismatch(sni, cn)
      if m == 2 then
        add(s.w_mismatch, "sni " .. sni .. " not covered by certificate CN=" .. cn)
      elseif m == 1 then
        add(s.w_mismatch_same_domain, "sni " .. sni .. " differs from certificate CN=" .. cn .. " (same domain)")
      end
    end
  end
  if version ~= nil and OBSOLETE[version] then
    add(s.w_obsolete, "obsolete " .. version)
  end

  -- novelty for this host and rarity on this worker
  local src = fields.src_ip
  -- a host's first sessions are a bare count (most sources send one or two: a table
  -- per source would make the garbage collector walk a million small tables)
  local h = hosts:get(src)
  local n
  if h == nil or type(h) == "number" then
    n = (h or 0) + 1
    if n < TRACK_AFTER then
      hosts:set(src, n)
      h = nil
    else
      h = { n, 0 }
      hosts:set(src, h)
    end
  else
    n = h[1] + 1
    h[1] = n
  end
  worker_n = worker_n + 1
  local judged = n > s.burn_in
  local rare_below = worker_n > s.worker_burn_in and worker_n * s.rare_share or -1
  if ja3 ~= nil then
    local wc = worker_seen(ja3)
    if h and host_new(h, ja3) and judged then
      local rare = wc < rare_below
      add(rare and s.w_rare_fingerprint or s.w_new_fingerprint,
        "JA3 " .. short(ja3) .. " first seen from " .. src .. " (1 of " .. n .. " TLS sessions"
        .. (rare and ", " .. wc .. " of " .. (worker_n - 1) .. " on this worker)" or ")"))
    end
  end
  if ja4 ~= nil then
    local wc = worker_seen(ja4)
    if h and host_new(h, ja4) and judged then
      local rare = wc < rare_below
      add(rare and s.w_rare_fingerprint or s.w_new_fingerprint,
        "JA4 " .. ja4 .. " first seen from " .. src .. " (1 of " .. n .. " TLS sessions"
        .. (rare and ", " .. wc .. " of " .. (worker_n - 1) .. " on this worker)" or ")"))
    end
  end
  if sni ~= nil and sni ~= "" then
    local wc = worker_seen(sni)
    if h and host_new(h, sni) and judged and wc < rare_below then
      add(s.w_new_sni, "sni " .. sni .. " new for " .. src .. " and rare on this worker ("
        .. wc .. " of " .. (worker_n - 1) .. ")")
    end
  end

  if reasons == nil then
    mle.score(msg, 0)
    return
  end
  local score = 1 - keep
  if score >= s.threshold then
    mle.finding(msg, score, concat(reasons, "; "))
  else
    mle.score(msg, score)
  end
end

-- an analyst calls a finding benign: remember its fingerprints and SNI for the host
function feedback(fb)
  if fb.verdict ~= "benign" or fb.event == nil then return end
  local ev = fb.event
  local tls, src = ev.tls, ev.src_ip
  if tls == nil or src == nil then return end
  local h = hosts:get(src)
  if type(h) ~= "table" then return end
  if tls.ja3 and tls.ja3.hash then host_new(h, tls.ja3.hash) end
  if type(tls.ja4) == "string" then host_new(h, tls.ja4) end
  if tls.sni then host_new(h, lower(tls.sni)) end
end
