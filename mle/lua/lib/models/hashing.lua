-- models.FeatureHasher: sparse string features (character n-grams, tokens, field
-- values) hashed into a fixed number of integer buckets, with a hash that gives the
-- same buckets in the engine (Lua 5.4, LuaJIT), inside Redis (Lua 5.1) and in Python
-- (mle.export.stable_hash / hash_features), so a model trained offline on hashed
-- features scores the same features online.
--
--   local FeatureHasher = require "mle.models.hashing"
--   local h = FeatureHasher{n_features = 2^18, ngram = 3}
--   local x = h:transform_one("example.com")       -- {[bucket] = count of its trigrams}
--   local y = FeatureHasher{n_features = 1024}:transform_one({["ua=curl"] = 1, port = 443})
--
-- hash(s): h = 5381; for every byte b of s: h = (h * 1000003 + b) mod 2147483647.
-- Every intermediate stays below 2^53, so the arithmetic is exact in doubles and in
-- 64-bit integers alike. bucket = h mod n_features (0 .. n_features - 1). Colliding
-- features add up. With `ngram = n`, transform_one takes a string and hashes its
-- character n-grams (bytes; a string shorter than n is its own only gram).
local unit = require "mle.util.unit"

local FeatureHasher = unit.class{
  name = "models.FeatureHasher", module = "mle.models.hashing", kind = "transformer",
  options = {
    n_features = unit.number{ default = 1048576, min = 1, integer = true },
    ngram = unit.number{ optional = true, min = 1, integer = true },
  },
}

function FeatureHasher.init() end

local MODULUS = 2147483647
local byte, floor = string.byte, math.floor

--- The stable hash of a string, an integer in [0, 2^31 - 2].
function FeatureHasher.hash(s)
  local h = 5381
  for i = 1, #s do
    h = (h * 1000003 + byte(s, i)) % MODULUS
  end
  return h
end

--- {name = value} -> {[bucket] = summed value}, buckets in 0 .. n_features - 1.
-- Names that are numbers are hashed as their integer text (1 -> "1").
function FeatureHasher.transform(x, n_features)
  local out = {}
  for name, value in pairs(x) do
    if type(name) == "number" then name = string.format("%d", name) end
    local bucket = floor(FeatureHasher.hash(name) % n_features)
    out[bucket] = (out[bucket] or 0) + value
  end
  return out
end

--- The character n-grams of s (bytes) with their counts: {["exa"] = 1, ...}.
function FeatureHasher.char_ngrams(s, n)
  local grams = {}
  if #s < n then
    if #s > 0 then grams[s] = 1 end
    return grams
  end
  for i = 1, #s - n + 1 do
    local g = string.sub(s, i, i + n - 1)
    grams[g] = (grams[g] or 0) + 1
  end
  return grams
end

--- The hashed features of x: a table {name = value}, or a string with `ngram` set.
function FeatureHasher:transform_one(x)
  local s = self.state
  if type(x) == "string" then
    if s.ngram == nil then
      error("models.FeatureHasher: a string needs the option ngram (its character n-grams are hashed)", 2)
    end
    x = FeatureHasher.char_ngrams(x, s.ngram)
  elseif type(x) ~= "table" then
    error("models.FeatureHasher: transform_one takes a table {name = value} or a string, got " .. type(x), 2)
  end
  return FeatureHasher.transform(x, s.n_features)
end

return FeatureHasher
