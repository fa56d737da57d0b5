-- dga: DNS names made by a domain generation algorithm.
--
-- Malware that finds its command server by trying hundreds of machine-made names a
-- day (xjwqkzpl.biz, 1sbh3891b5qfxt3dszss1grf20g.net) leaves two traces in DNS: the
-- names look random, and most of them do not exist (NXDOMAIN). This analyzer scores
-- every DNS query and answer by:
--
-- 1. An offline model: logistic regression over the registrable label of the name
--    (mle.domain: "xjwqkzpl" of "www.xjwqkzpl.biz") with eight character features
--    (length, Shannon entropy, digit / vowel / hyphen ratios, longest consonant run,
--    distinct characters, letter-digit switches) and its character bigrams and
--    trigrams hashed into buckets. Trained by evaluation/train_dga.py on labeled
--    domain lists, exported with `mle export-model` to analyzers/data/dga-model.json,
--    read once in setup(); per label: one pass over its bytes, a few table lookups.
--    Labels are memoised (bounded), so a repeated name costs a few lookups.
-- 2. The NXDOMAIN ratio of the asking host (local, bounded state: answers and
--    NXDOMAIN answers per src_ip, halved when they reach `nx_memory`): an NXDOMAIN
--    answer for a random-looking name from a host that got mostly NXDOMAIN raises
--    the score.
-- 3. An online correction learnt from analysts' verdicts (feedback(fb)): a logistic
--    regression in Redis (mle.shared, feature hashing) over the offline logit, the
--    registrable domain and its suffix, its "offline" weight seeded so that before
--    any verdict it returns the offline score exactly. Each worker keeps a local copy
--    of its weights (refreshed every `sync_interval` s): no Redis round trip per event.
--
-- Reads both EVE DNS layouts: Suricata 7 (v2: dns.type query/answer, dns.rrname,
-- dns.rcode) and Suricata 8 (v3: dns.queries[1].rrname, type request/response).
--
--   "mle": {"scores": {"dga": 0.99}, "findings": [{"analyzer": "dga", "score": 0.99,
--     "reason": "dga-like name xjwqkzpl.biz (p=0.99: entropy 2.8, 12 % vowels); host
--                10.0.0.5 got 38 NXDOMAIN of 40 names"}]}

analyzer = { event_types = { "dns" }, order = 40 }

local s = mle.settings{
  model = "analyzers/data/dga-model.json", -- the exported offline model (train_dga.py)
  threshold = 0.9,        -- a finding from this score on
  min_length = 6,         -- shorter registrable labels are not judged (score 0)
  nx_min = 10,            -- answers a host must have had before its NXDOMAIN ratio counts
  nx_ratio = 0.5,         -- NXDOMAIN share from which it raises the score ...
  nx_boost = 3.0,         -- ... by up to this much on the logit (at a share of 1)
  nx_memory = 200,        -- per-host counts are halved when they reach this many answers
  hosts = 100000,         -- hosts kept (LRU)
  labels = 20000,         -- scored labels memoised (then the memo starts afresh)
  feedback_lr = 0.25,     -- learning rate of the online correction
  sync_interval = 30,     -- seconds between refreshes of the online weights from Redis
}

local cache = require "mle.cache"
local domain = require "mle.domain"
local models = require "mle.models"
local FeatureHasher = require "mle.models.hashing"
local SharedLR = require "mle.shared.logistic_regression"
local instance = require "mle.shared.instance"

local byte, sqrt, log, exp, floor, format = string.byte, math.sqrt, math.log, math.exp, math.floor, string.format
local split = domain.split

local M = 2147483647
local ONLINE_BUCKETS = 1048576
local OFF_SCALE = 4      -- the online model sees logit / OFF_SCALE, seeded with weight OFF_SCALE
local DOMAIN_VALUE = 4   -- the registrable domain's feature value (one verdict moves it far)

-- the offline model, unpacked for a fast dot product
local intercept, lex = 0, {}
local W, NB = {}, 0
-- character classes: 1 vowel, 2 consonant, 3 digit, 4 hyphen; others are not scored
local CLASS = {}
local H1 = {}            -- the stable hash after the first byte of a gram, by byte
local CLOG = { [0] = 0 } -- c * log2(c)

local hosts
-- scored labels: logit (false: not scored), entropy and vowel share, flat tables by label
local memo_logit, memo_entropy, memo_vowels, memo_n = {}, {}, {}, 0
local online, online_key
local OW, online_n = nil, 0  -- local copy of the online weights (nil: no verdict yet)
local next_sync, events = 0, 0

function setup()
  local f = assert(io.open(s.model, "r"))
  local text = f:read("*a")
  f:close()
  local model = models.load_json(text)
  local doc = model.state.doc
  assert(doc.kind == "logistic_regression" and #doc.coef == 1, "dga: the model must be a binary logistic regression")
  local names, coef = doc.feature_names, doc.coef[1]
  intercept = doc.intercept[1]
  for i, name in ipairs(names) do
    local bucket = name:match("^g(%d+)$")
    if bucket then
      W[tonumber(bucket)] = coef[i]
      NB = NB + 1
    else
      lex[name] = coef[i]
    end
  end
  for _, k in ipairs{ "len", "entropy", "digits", "vowels", "consonant_run", "hyphens", "distinct", "switches" } do
    assert(lex[k], "dga: the model has no feature " .. k)
  end
  for b = 97, 122 do CLASS[b] = 2 end
  for _, c in ipairs{ "a", "e", "i", "o", "u" } do CLASS[byte(c)] = 1 end
  for b = 48, 57 do CLASS[b] = 3 end
  CLASS[45] = 4
  for b = 0, 255 do H1[b] = (5381 * 1000003 + b) % M end
  for c = 1, 300 do CLOG[c] = c * log(c) / log(2) end
  hosts = cache.LRU(s.hosts)
  online = SharedLR{ name = "online", lr = s.feedback_lr, intercept_lr = 0 }
  online_key = instance.key(online, nil)
  -- seed: before any verdict the online model returns the offline score itself
  online.conn:command("HSETNX", online_key, "w:off", tostring(OFF_SCALE))
end

local counts, touched = {}, {}

-- The offline logit of a label (a-z, 0-9, "-"), with entropy and vowel share for the
-- reason; nil when the label has other characters.
local function offline(label)
  local n = #label
  local digits, vowels, hyphens, run, longest, switches, distinct = 0, 0, 0, 0, 0, 0, 0
  local prev = 0
  local wsum = 0
  local h2 = 46 -- previous byte ("." marks the start)
  local h1 = 0
  for i = 1, n do
    local b = byte(label, i)
    local class = CLASS[b]
    if class == nil then
      for j = 1, distinct do counts[touched[j]] = nil end
      return nil
    end
    local c = counts[b]
    if c == nil then
      distinct = distinct + 1
      touched[distinct] = b
      counts[b] = 1
    else
      counts[b] = c + 1
    end
    if class == 2 then
      run = run + 1
      if run > longest then longest = run end
    else
      run = 0
      if class == 1 then vowels = vowels + 1
      elseif class == 3 then digits = digits + 1
      else hyphens = hyphens + 1 end
    end
    local kind = (class == 3) and 3 or ((class == 4) and 4 or 1)
    if prev ~= 0 and kind ~= prev and kind ~= 4 and prev ~= 4 then switches = switches + 1 end
    prev = kind
    -- the bigram (previous byte, b) and the trigram (byte before it, previous, b)
    local g2 = (H1[h2] * 1000003 + b) % M
    wsum = wsum + (W[g2 % NB] or 0)
    if i >= 2 then
      local g3 = ((H1[h1] * 1000003 + h2) % M * 1000003 + b) % M
      wsum = wsum + (W[g3 % NB] or 0)
    end
    h1, h2 = h2, b
  end
  -- the end: bigram (last byte, ".") and trigram (byte before, last, ".")
  wsum = wsum + (W[((H1[h2] * 1000003 + 46) % M) % NB] or 0)
  wsum = wsum + (W[(((H1[h1] * 1000003 + h2) % M * 1000003 + 46) % M) % NB] or 0)
  local clog = 0
  for j = 1, distinct do
    local b = touched[j]
    clog = clog + CLOG[counts[b]]
    counts[b] = nil
  end
  local entropy = log(n) / log(2) - clog / n
  local logit = intercept + wsum / sqrt(2 * n + 1)
    + lex.len * n / 32 + lex.entropy * entropy / 4 + lex.digits * digits / n + lex.vowels * vowels / n
    + lex.consonant_run * longest / 10 + lex.hyphens * hyphens / n + lex.distinct * distinct / n
    + lex.switches * switches / n
  return logit, entropy, vowels / n
end

local function bucket(text) return FeatureHasher.hash(text) % ONLINE_BUCKETS end

local function online_features(registrable, suffix, logit)
  return { off = logit / OFF_SCALE, [bucket("d:" .. registrable)] = DOMAIN_VALUE, [bucket("s:" .. suffix)] = 1 }
end

-- refresh the local copy of the online weights (one HGETALL)
local function sync()
  local reply = online.conn:command("HGETALL", online_key)
  if type(reply) ~= "table" then return end
  local weights, n = {}, 0
  for i = 1, #reply - 1, 2 do
    local field, value = reply[i], tonumber(reply[i + 1])
    if field == "n" then
      n = value or 0
    elseif value and field:sub(1, 2) == "w:" then
      local name = field:sub(3)
      weights[tonumber(name) or name] = value
    end
  end
  online_n = n
  if n > 0 then OW = weights else OW = nil end
end

local function expit(x) return 1 / (1 + exp(-x)) end

-- The query name, from either layout (v2: dns.rrname; v3: dns.queries[1].rrname).
local function read(dns)
  local name = dns.rrname
  if name == nil then
    local queries = dns.queries
    if queries == nil then return nil end
    local q = queries[1]
    if q == nil then return nil end
    name = q.rrname
  end
  return name
end

function loop(msg)
  local fields = mle.fields(msg)
  local dns = fields.dns
  if dns == nil then return end
  local name = read(dns)
  if name == nil then return end
  events = events + 1
  if events % 256 == 0 then
    local now = os.time()
    if now >= next_sync then
      next_sync = now + s.sync_interval
      sync()
    end
  end

  -- an answer has an rcode (v2 queries have none; v3 requests are type "request");
  -- a host's counts are one number, answers * 65536 + NXDOMAIN answers (no table per
  -- host: a large heap of small tables slows every garbage collection of the worker)
  local host_n, host_nx, nx = 0, 0, false
  local rcode = dns.rcode
  if rcode ~= nil and (rcode ~= "NOERROR" or dns.type ~= "request") then
    local src = fields.src_ip
    local packed = hosts:get(src) or 0
    host_n, host_nx = floor(packed / 65536) + 1, packed % 65536
    nx = rcode == "NXDOMAIN"
    if nx then host_nx = host_nx + 1 end
    if host_n >= s.nx_memory then
      host_n, host_nx = floor(host_n / 2), floor(host_nx / 2)
    end
    hosts:set(src, host_n * 65536 + host_nx)
  end

  local registrable, label, suffix = split(name)
  if label == nil or #label < s.min_length then
    mle.score(msg, 0)
    return
  end
  local logit = memo_logit[label]
  if logit == nil then
    local entropy, vowels
    logit, entropy, vowels = offline(label)
    if logit == nil then logit, entropy, vowels = false, 0, 0 end
    if memo_n >= s.labels then
      memo_logit, memo_entropy, memo_vowels, memo_n = {}, {}, {}, 0
    end
    memo_n = memo_n + 1
    memo_logit[label], memo_entropy[label], memo_vowels[label] = logit, entropy, vowels
  end
  if logit == false then
    mle.score(msg, 0)
    return
  end
  if OW ~= nil then
    logit = (OW.off or OFF_SCALE) * logit / OFF_SCALE
      + DOMAIN_VALUE * (OW[bucket("d:" .. registrable)] or 0) + (OW[bucket("s:" .. suffix)] or 0)
  end
  local boosted = logit
  local ratio = 0
  if nx and host_n >= s.nx_min and logit > 0 then
    ratio = host_nx / host_n
    if ratio > s.nx_ratio then
      boosted = logit + s.nx_boost * (ratio - s.nx_ratio) / (1 - s.nx_ratio)
    end
  end
  local p = expit(boosted)
  if p < s.threshold then
    mle.score(msg, p)
    return
  end
  local reason = format("dga-like name %s (p=%.2f: entropy %.1f, %d %% vowels)", registrable, expit(logit),
    memo_entropy[label], floor(memo_vowels[label] * 100 + 0.5))
  if host_n >= s.nx_min then
    reason = reason .. format("; host %s got %d NXDOMAIN of %d names", fields.src_ip, host_nx, host_n)
  end
  if OW ~= nil then reason = reason .. format(" (corrected by %d analyst verdicts)", online_n) end
  mle.finding(msg, p, reason)
end

-- An analyst's verdict: the online correction learns it (one FCALL), and this worker
-- refreshes its copy at once (the others within sync_interval).
function feedback(fb)
  local ev = fb.event
  if ev == nil or ev.dns == nil or (fb.verdict ~= "malicious" and fb.verdict ~= "benign") then return end
  local name = read(ev.dns)
  if name == nil then return end
  local registrable, label, suffix = split(name)
  if label == nil then return end
  local logit = offline(label)
  if logit == nil then return end
  online:learn_one(nil, online_features(registrable, suffix, logit), fb.verdict == "malicious")
  sync()
end
