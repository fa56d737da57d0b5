-- mle.cache: bounded local state for analyzers. A per-worker table that keeps at most
-- about `size` keys, forgetting the least recently used first (two generations: a key
-- untouched for a whole generation is dropped), so per-host or per-pair state cannot
-- grow without bound on a busy sensor.
--
--   local cache = require "mle.cache"
--   local hosts = cache.LRU(100000)
--   local h = hosts:get(msg.src_ip)
--   if h == nil then h = { n = 0 }; hosts:set(msg.src_ip, h) end
--   h.n = h.n + 1
--
-- get/set cost one or two table lookups; a generation flip is O(1).
local cache = {}

local LRU = {}
LRU.__index = LRU

--- A cache of about `size` keys (between size/2 and size are kept).
function cache.LRU(size)
  size = tonumber(size)
  if size == nil or size < 2 then error("mle.cache.LRU: size must be a number >= 2", 2) end
  return setmetatable({ limit = math.floor(size / 2), young = {}, old = {}, n = 0 }, LRU)
end

--- The value for key, or nil; a hit keeps the key.
function LRU:get(key)
  local v = self.young[key]
  if v ~= nil then return v end
  v = self.old[key]
  if v ~= nil then
    self.old[key] = nil
    self:set(key, v)
  end
  return v
end

--- Store value under key (nil removes it).
function LRU:set(key, value)
  local young = self.young
  if value == nil then
    if young[key] ~= nil then self.n = self.n - 1 end
    young[key], self.old[key] = nil, nil
    return
  end
  if young[key] == nil then
    if self.n >= self.limit then
      self.old, self.young, self.n = young, {}, 0
      young = self.young
    end
    self.n = self.n + 1
  end
  young[key] = value
end

--- The value for key, created by make(key) when absent.
function LRU:fetch(key, make)
  local v = self:get(key)
  if v == nil then
    v = make(key)
    self:set(key, v)
  end
  return v
end

return cache
