-- dga-online: an evaluation analyzer that learns to tell DGA domains from real ones online.
--
-- For each DNS query (Suricata 6/7 `dns.rrname`, or 8's `dns.queries[1].rrname`) it
-- scores P(DGA) with a logistic regression over the query's character 2- and 3-grams
-- (with ^ and $ marking the ends), hashed by models.FeatureHasher, and a few lexical
-- features (length, entropy, digits, vowels, longest consonant run, labels, hyphens,
-- the TLD). It learns only in feedback(fb), from an analyst's verdict (or from
-- `mle evaluate`'s labels): the prequential prediction made before learning is the
-- model's error signal, which an ADWIN detector watches; when the error rate shifts
-- it logs {drift = "adwin", ...} (mle evaluate draws it on its plots).
--
-- It exists to show that streaming learning works (README, "Results"); the shipped
-- analyzers/dga.lua is the one to deploy. With mle.evaluating it records the features
-- its model sees (mle.features), the batch baseline's input.
--
-- Annotation: "mle": {"scores": {"dga-online": 0.97}}; no findings.

analyzer = { event_types = { "dns" }, order = 40 }

local models = require "mle.models"
local drift = require "mle.drift"
local cache = require "mle.cache"

local s = mle.settings{
  lr = 0.3,            -- SGD learning rate (0.05 to 0.3 give the same ROC AUC on pjabes; 0.3 the best log loss)
  l2 = 0.0,            -- L2 penalty on the weights of the features present
  n_features = 262144, -- hash buckets (2^18)
  adwin_delta = 0.002, -- ADWIN's confidence: smaller fires less often
}

local FeatureHasher = models.FeatureHasher
local model = models.LogisticRegression{ lr = s.lr, l2 = s.l2, intercept_lr = 0.01 }
local errors = drift.ADWIN{ delta = s.adwin_delta }
local recent = cache.LRU(4096)  -- name -> {hashed, named}: feedback follows the event it is about
local learnt = 0

local byte, sub, lower, log = string.byte, string.sub, string.lower, math.log
local VOWEL = {}
for c in ("aeiouy"):gmatch(".") do VOWEL[byte(c)] = true end

local function query_name(msg)
  local dns = msg.dns
  if dns == nil then return nil end
  local name = dns.rrname
  if name == nil then
    local queries = dns.queries
    local first = queries and queries[1]
    name = first and first.rrname
  elseif dns.type ~= nil and dns.type ~= "query" then
    return nil
  end
  if type(name) ~= "string" or #name == 0 then return nil end
  name = lower(name)
  if sub(name, -1) == "." then name = sub(name, 1, -2) end
  return name
end

-- the named features of a domain: {["g:ab"] = count, len = ..., ...}
local function features(name)
  local dot = name:match("^.*()%.")
  local tld = dot and sub(name, dot + 1) or ""
  local body = dot and sub(name, 1, dot - 1) or name
  local x = {}
  local padded = "^" .. body .. "$"
  for n = 2, 3 do
    for i = 1, #padded - n + 1 do
      local g = "g:" .. sub(padded, i, i + n - 1)
      x[g] = (x[g] or 0) + 1
    end
  end
  local counts, digits, vowels, letters, run, longest, labels, hyphens = {}, 0, 0, 0, 0, 0, 1, 0
  for i = 1, #body do
    local b = byte(body, i)
    counts[b] = (counts[b] or 0) + 1
    if b >= 48 and b <= 57 then
      digits = digits + 1; run = 0
    elseif b >= 97 and b <= 122 then
      letters = letters + 1
      if VOWEL[b] then vowels = vowels + 1; run = 0 else run = run + 1 end
      if run > longest then longest = run end
    else
      run = 0
      if b == 46 then labels = labels + 1 elseif b == 45 then hyphens = hyphens + 1 end
    end
  end
  local entropy, n = 0, #body
  for _, c in pairs(counts) do local p = c / n; entropy = entropy - p * log(p) end
  x.len = math.min(n, 64) / 32
  x.entropy = entropy / 4
  x.digits = n > 0 and digits / n or 0
  x.vowels = letters > 0 and vowels / letters or 0
  x.consonant_run = math.min(longest, 16) / 8
  x.labels = math.min(labels, 8) / 4
  x.hyphens = hyphens > 0 and 1 or 0
  x["tld:" .. tld] = 1
  return x
end

local function vectors(name)
  local v = recent:get(name)
  if v == nil then
    local named = features(name)
    v = { FeatureHasher.transform(named, s.n_features), named }
    recent:set(name, v)
  end
  return v
end

function loop(msg)
  local name = query_name(msg)
  if name == nil then return end
  local v = vectors(name)
  if mle.evaluating then mle.features(msg, v[2]) end
  mle.score(msg, model:predict_proba_one(v[1]))
end

function feedback(fb)
  local name = fb.event and query_name(fb.event)
  if name == nil then return end
  local y = fb.verdict == "malicious"
  local p = model:score_learn(vectors(name)[1], y)  -- the prediction before learning: the model's error
  learnt = learnt + 1
  local wrong = (p >= 0.5) ~= y
  if errors:update(wrong and 1 or 0) then
    dragonfly.log_event({ drift = "adwin", analyzer = mle.tag, verdicts = learnt,
                          error_rate = errors:estimation() })
  end
end
