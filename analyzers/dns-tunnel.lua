-- dns-tunnel: data carried inside DNS names (iodine, dnscat2, DNS exfiltration).
--
-- A DNS tunnel encodes its payload in the labels in front of a domain its operator
-- controls (laegpumiplhhpz12ynd1efljwlkjcgwy.pirate.sea) and asks a new name for
-- every chunk. So each query of a tunnel has a long, random-looking subdomain, the
-- client asks very many unique subdomains of one registered domain (RITA flags a
-- domain from 100), and tunnels favour record types that carry data back (TXT, NULL,
-- MX, CNAME, private types). A name without a real top-level domain (dnscat2 sent
-- straight to its server: dnscat.<hex>.<hex>) is all payload, counted under one
-- pseudo-domain. The score of a DNS event (query or answer) is
--
--   max(0.5 * name + 0.4 * unique + 0.1 * type, max(name, unique) * (0.5 + 0.3 * type))
--
--   name   = (max(length score, longest-label score) + entropy score) / 2 of the
--            subdomain (mle.domain: what is left of the name before the registrable
--            domain): length 24 -> 0 .. 64 -> 1, longest label 20 -> 0 .. 50 -> 1,
--            Shannon entropy 3.0 -> 0 .. 4.2 bits -> 1 (only from 16 characters);
--   unique = unique subdomains this source asked under the registrable domain,
--            10 -> 0 .. 100 -> 1 on a log scale; or half the same score for every
--            source of this worker together, whichever is higher;
--   type   = 1 for TXT, NULL, ANY and numeric (private) types.
--
-- State is local and bounded: per worker, an LRU of registrable domains, each with
-- the subdomains seen (at most `max_subdomains`), an LRU of counts per (source,
-- registrable domain), and a memo of what each name says by itself. With
-- shard_key = "src_ip" a source's events all reach one worker; otherwise each worker
-- counts what it sees. Reads both EVE DNS layouts (Suricata 7 v2 dns.rrname /
-- dns.rrtype, Suricata 8 v3 dns.queries[1]).
--
--   "mle": {"scores": {"dns-tunnel": 0.93}, "findings": [{"analyzer": "dns-tunnel", "score": 0.93,
--     "reason": "DNS tunnel-like names under pirate.sea: 10.0.2.30 asked 143 unique subdomains
--                (this worker: 143); this one 32 chars, longest label 32, entropy 4.3 bits, NULL query"}]}

analyzer = { event_types = { "dns" }, order = 41 }

local s = mle.settings{
  threshold = 0.7,          -- a finding from this score on
  short_name = 24,          -- names shorter than this with a type that carries no data (A, AAAA, ...) score 0
  unique_low = 10,          -- unique subdomains per source where the unique score starts ...
  unique_high = 100,        -- ... and where it is 1 (RITA's first band)
  max_subdomains = 500,     -- subdomains remembered per registrable domain (then counted as new)
  domains = 2048,           -- registrable domains kept (LRU)
  sources = 50000,          -- (source, registrable domain) counts kept (LRU)
  -- registrable domains whose subdomains are lookups by design (anti-virus and
  -- reputation services, reverse DNS): scored 0
  ignore = "in-addr.arpa ip6.arpa sophosxl.net mcafee.com spamhaus.org spamcop.net surbl.org uribl.com "
    .. "barracudacentral.org senderbase.org sorbs.net",
}

local cache = require "mle.cache"
local domain = require "mle.domain"

local byte, log, floor, format, find = string.byte, math.log, math.floor, string.format, string.find
local split, is_tld = domain.split, domain.is_tld
local NO_TLD = "(names without a top-level domain)"

local DATA_TYPES = { TXT = true, NULL = true, ANY = true, ["*"] = true }
-- types tunnels use (dnscat2: TXT, MX, CNAME; iodine: NULL, also A, MX, SRV, TXT)
local CARRIER = { TXT = true, NULL = true, ANY = true, ["*"] = true, MX = true, CNAME = true, SRV = true }
local IGNORE = {}
local domains, sources
local unique_low_log, unique_span

function setup()
  for name in string.gmatch(s.ignore, "%S+") do IGNORE[name] = true end
  domains = cache.LRU(s.domains)
  sources = cache.LRU(s.sources)
  unique_low_log = log(s.unique_low)
  unique_span = log(s.unique_high) - unique_low_log
end

-- Shannon entropy (bits) of the bytes of text
local entropy = require("mle.stats").Entropy.of_string

local function clamp(x)
  if x < 0 then return 0 end
  if x > 1 then return 1 end
  return x
end

local function unique_score(n)
  if n <= s.unique_low then return 0 end
  return clamp((log(n) - unique_low_log) / unique_span)
end

-- What a name says by itself, memoised in flat tables by name (no table per name: a
-- large heap of small tables slows every garbage collection of the worker):
-- registrable domain (false: not scored), subdomain, name score.
local m_reg, m_sub, m_score, names_n = {}, {}, {}, 0
local NAMES_MAX = 4096

local function describe(name)
  local registrable, _, suffix, sub = split(name)
  if registrable == nil or IGNORE[registrable] then return false end
  if not is_tld(suffix) and not find(suffix, ".", 1, true) then
    -- no real top-level domain (dnscat2's direct mode: dnscat.<hex>.<hex>, internal
    -- names): the whole name is the payload, counted under one pseudo-domain
    if sub ~= "" then sub = sub .. "." .. registrable else sub = registrable end
    registrable = NO_TLD
  end
  local n = #sub
  if n == 0 then return false end
  local longest, start = 0, 1
  while true do
    local dot = find(sub, ".", start, true)
    local len = (dot or n + 1) - start
    if len > longest then longest = len end
    if dot == nil then break end
    start = dot + 1
  end
  local h = 0
  local score = clamp((n - 24) / 40)
  local label_score = clamp((longest - 20) / 30)
  if label_score > score then score = label_score end
  if n >= 16 then
    h = entropy(sub)
    score = (score + clamp((h - 3.0) / 1.2)) / 2
  else
    score = score / 2
  end
  return registrable, sub, score, n, longest, h
end

function loop(msg)
  local fields = mle.fields(msg)
  local dns = fields.dns
  if dns == nil then return end
  local name, rrtype = dns.rrname, nil
  if name == nil then
    local queries = dns.queries
    if queries == nil then return end
    local q = queries[1]
    if q == nil then return end
    name, rrtype = q.rrname, q.rrtype
    if name == nil then return end
  else
    rrtype = dns.rrtype
  end
  -- a short name of a type that carries no data back cannot reach a finding (its
  -- name score is 0 and unique subdomains alone give at most 0.5): not counted
  if #name < s.short_name and not (rrtype ~= nil and (CARRIER[rrtype] or tonumber(rrtype))) then
    mle.score(msg, 0)
    return
  end
  local registrable, sub, name_score = m_reg[name], m_sub[name], m_score[name]
  if registrable == nil then
    registrable, sub, name_score = describe(name)
    if names_n >= NAMES_MAX then m_reg, m_sub, m_score, names_n = {}, {}, {}, 0 end
    names_n = names_n + 1
    m_reg[name], m_sub[name], m_score[name] = registrable, sub, name_score
  end
  if registrable == false then
    mle.score(msg, 0)
    return
  end

  -- unique subdomains under this registrable domain: per source (counted when a
  -- subdomain is new; a subdomain seen again keeps the count of its first asker) and
  -- for the whole worker; per-source counts in one LRU keyed "source registrable"
  local d = domains:get(registrable)
  if d == nil then
    d = { subs = {}, n = 0 }
    domains:set(registrable, d)
  end
  local by_src = d.subs[sub]
  if by_src == nil then
    local key = (fields.src_ip or "") .. " " .. registrable
    by_src = (sources:get(key) or 0) + 1
    sources:set(key, by_src)
    d.n = d.n + 1
    if d.n <= s.max_subdomains then d.subs[sub] = by_src end
  end
  local unique = unique_score(by_src)
  local worker = unique_score(d.n) / 2
  if worker > unique then unique = worker end
  if unique == 0 and name_score == 0 then
    mle.score(msg, 0)  -- a short name asked by a host among few others: nothing to see
    return
  end

  local data_type = 0
  if rrtype ~= nil and (DATA_TYPES[rrtype] or tonumber(rrtype)) then data_type = 1 end
  local score = 0.5 * name_score + 0.4 * unique + 0.1 * data_type
  -- many unique names alone, or one very long random name alone, suffice when the
  -- record type carries data back
  local alone = unique
  if name_score > alone then alone = name_score end
  alone = alone * (0.5 + 0.3 * data_type)
  if alone > score then score = alone end
  if score < s.threshold then
    mle.score(msg, score)
    return
  end
  local _, _, _, n, longest, h = describe(name)
  mle.finding(msg, score, format(
    "DNS tunnel-like names under %s: %s asked %d unique subdomains (this worker: %d); this one %d chars, "
      .. "longest label %d, entropy %.1f bits%s", registrable, fields.src_ip or "?", by_src, d.n, n, longest,
    h, data_type == 1 and (", " .. tostring(rrtype) .. " query") or ""))
end
