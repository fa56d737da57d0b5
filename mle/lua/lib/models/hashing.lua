-- Feature hashing: sparse string features (character n-grams, tokens, field values)
-- into a fixed number of integer buckets, with a hash that gives the same buckets in
-- the engine (Lua 5.4, LuaJIT), inside Redis (Lua 5.1) and in Python
-- (mle.export.stable_hash / hash_features), so a model trained offline on hashed
-- features scores the same features online.
--
--   local hashing = require "mle.models.hashing"
--   local x = hashing.transform(hashing.char_ngrams("example.com", 3), 2^18)
--   -- x = {[bucket] = count, ...}, buckets in 0 .. 2^18 - 1
--
-- hash(s): h = 5381; for every byte b of s: h = (h * 1000003 + b) mod 2147483647.
-- Every intermediate stays below 2^53, so the arithmetic is exact in doubles and in
-- 64-bit integers alike. bucket = h mod n_features. Colliding features add up.

local hashing = {}

local MODULUS = 2147483647
local byte = string.byte

--- The stable hash of a string, an integer in [0, 2^31 - 2].
function hashing.hash(s)
  local h = 5381
  for i = 1, #s do
    h = (h * 1000003 + byte(s, i)) % MODULUS
  end
  return h
end

--- {name = value} -> {[bucket] = summed value}, buckets in 0 .. n_features - 1.
-- Names that are numbers are hashed as their integer text (1 -> "1").
function hashing.transform(x, n_features)
  if type(n_features) ~= "number" or n_features < 1 or n_features ~= math.floor(n_features) then
    error("hashing.transform: n_features must be an integer >= 1, got " .. tostring(n_features), 2)
  end
  local out = {}
  for name, value in pairs(x) do
    if type(name) == "number" then name = string.format("%d", name) end
    local bucket = math.floor(hashing.hash(name) % n_features)
    out[bucket] = (out[bucket] or 0) + value
  end
  return out
end

--- The character n-grams of s (bytes) with their counts: {["exa"] = 1, ...}; a string
-- shorter than n gives itself as its only gram.
function hashing.char_ngrams(s, n)
  if type(n) ~= "number" or n < 1 or n ~= math.floor(n) then
    error("hashing.char_ngrams: n must be an integer >= 1, got " .. tostring(n), 2)
  end
  local grams = {}
  if #s < n then
    if #s > 0 then grams[s] = 1 end
    return grams
  end
  for i = 1, #s - n + 1 do
    local g = s:sub(i, i + n - 1)
    grams[g] = (grams[g] or 0) + 1
  end
  return grams
end

return hashing
