-- mle.util.murmur3: MurmurHash3 x86 32-bit (Austin Appleby), the hash the
-- sketches use to place items. It gives the same value as Python's
-- `mmh3.hash(s, seed, signed=False)` and scikit-learn's `murmurhash3_32(s, seed,
-- positive=True)` on the bytes of `s`, in the engine (Lua 5.4, LuaJIT) and inside
-- Redis, so a local sketch and its shared twin put an item in the same place.
--
-- Lua 5.1 subset: products are split so every intermediate stays an exact
-- double; only XOR needs the `bit` library (LuaJIT's, Redis's, or the engine's
-- on Lua 5.4).

local M = {}

local byte, floor = string.byte, math.floor
local bxor = bit.bxor

local TWO32 = 4294967296
local C1, C2 = 0xcc9e2d51, 0x1b873593

-- a * b mod 2^32 for a, b in [0, 2^32): the halves keep each product below 2^49
local function mul32(a, b)
  local ah = floor(a / 65536)
  local al = a - ah * 65536
  return (al * b + ((ah * b) % 65536) * 65536) % TWO32
end

local function rotl(x, r)
  local high = floor(x / 2 ^ (32 - r))
  return (x - high * 2 ^ (32 - r)) * 2 ^ r + high
end

local function xor(a, b)
  return bxor(a, b) % TWO32
end

local function mix_k(k)
  return mul32(rotl(mul32(k, C1), 15), C2)
end

--- The unsigned 32-bit MurmurHash3 of string `s` with `seed` (default 0).
function M.hash(s, seed)
  local h = (seed or 0) % TWO32
  local n = #s
  local blocks = n - n % 4
  for i = 1, blocks, 4 do
    local b1, b2, b3, b4 = byte(s, i, i + 3)
    h = xor(h, mix_k(b1 + b2 * 256 + b3 * 65536 + b4 * 16777216))
    h = rotl(h, 13)
    h = (h * 5 + 0xe6546b64) % TWO32
  end
  local tail = n - blocks
  if tail > 0 then
    local b1, b2, b3 = byte(s, blocks + 1, n)
    local k = b1 + (b2 or 0) * 256 + (b3 or 0) * 65536
    h = xor(h, mix_k(k))
  end
  h = xor(h, n)
  h = xor(h, floor(h / 65536))
  h = mul32(h, 0x85ebca6b)
  h = xor(h, floor(h / 8192))
  h = mul32(h, 0xc2b2ae35)
  h = xor(h, floor(h / 65536))
  return floor(h) -- an integer on Lua 5.4
end

return M
