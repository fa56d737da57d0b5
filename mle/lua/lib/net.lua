-- mle.net: addresses for analyzers. Is an address internal (mle.home_net, or any list
-- of CIDR networks), IPv4 and IPv6:
--
--   local net = require "mle.net"
--   if net.is_internal(msg.src_ip) and not net.is_internal(msg.dest_ip) then ... end
--   local dmz = net.Networks{ "192.0.2.0/24", "2001:db8::/32" }
--   dmz:contains("192.0.2.7")   --> true
--
-- An address that is not a valid IPv4 or IPv6 literal is in no network. Answers are
-- memoised per Networks (at most 65,536 addresses, then the memo starts afresh).
local net = {}

local floor, tonumber, find, sub, gmatch = math.floor, tonumber, string.find, string.sub, string.gmatch

-- IPv4 "a.b.c.d" -> { 4, n } (n the 32-bit value); IPv6 -> { 6, h1, ..., h8 } (hextets)
local function parse_v4(text)
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

local function parse_v6(text)
  if find(text, "%%") then text = sub(text, 1, find(text, "%%") - 1) end -- zone id
  local head, tail = text, nil
  local gap = find(text, "::", 1, true)
  if gap then head, tail = sub(text, 1, gap - 1), sub(text, gap + 2) end
  local function groups(part)
    local out = {}
    if part == "" then return out end
    for g in gmatch(part .. ":", "([^:]*):") do out[#out + 1] = g end
    return out
  end
  local h, t = groups(head), tail and groups(tail) or {}
  -- an embedded IPv4 tail (::ffff:1.2.3.4) counts as two hextets
  local last = tail and t or h
  if #last > 0 and find(last[#last], ".", 1, true) then
    local v4 = parse_v4(last[#last])
    if not v4 then return nil end
    last[#last] = string.format("%x", floor(v4 / 65536))
    last[#last + 1] = string.format("%x", v4 % 65536)
  end
  local n = #h + #t
  if (gap and n > 7) or (not gap and n ~= 8) then return nil end
  local words = { 6 }
  for _, g in ipairs(h) do words[#words + 1] = g end
  for _ = 1, 8 - n do words[#words + 1] = "0" end
  for _, g in ipairs(t) do words[#words + 1] = g end
  for i = 2, 9 do
    local g = words[i]
    if not g:match("^%x%x?%x?%x?$") then return nil end
    words[i] = tonumber(g, 16)
  end
  return words
end

--- Parse an address: IPv4 -> its 32-bit number; IPv6 -> an array {6, hextet1..8}; else nil.
function net.parse(text)
  if type(text) ~= "string" then return nil end
  if find(text, ":", 1, true) then return parse_v6(text) end
  return parse_v4(text)
end

local function parse_cidr(text)
  local addr, bits = text:match("^([^/]+)/(%d+)$")
  if not addr then addr = text end
  local parsed = net.parse(addr)
  if parsed == nil then error("mle.net: not a network: " .. tostring(text), 3) end
  local v6 = type(parsed) == "table"
  local width = v6 and 128 or 32
  bits = tonumber(bits) or width
  if bits > width then error("mle.net: prefix longer than the address: " .. text, 3) end
  return { v6 = v6, addr = parsed, bits = bits }
end

local function v4_in(n, cidr)
  local size = 2 ^ (32 - cidr.bits)
  return floor(n / size) == floor(cidr.addr / size)
end

local function v6_in(words, cidr)
  local bits = cidr.bits
  for i = 2, 9 do
    if bits <= 0 then return true end
    local a, b = words[i], cidr.addr[i]
    if bits >= 16 then
      if a ~= b then return false end
    else
      local size = 2 ^ (16 - bits)
      return floor(a / size) == floor(b / size)
    end
    bits = bits - 16
  end
  return true
end

local Networks = {}
Networks.__index = Networks

--- A set of networks (CIDR strings, IPv4 and IPv6; a bare address is a /32 or /128).
function net.Networks(list)
  if type(list) ~= "table" then error("mle.net.Networks expects a list of CIDR strings", 2) end
  local self = setmetatable({ v4 = {}, v6 = {}, memo = {}, memo_size = 0 }, Networks)
  for _, text in ipairs(list) do
    local cidr = parse_cidr(text)
    local into = cidr.v6 and self.v6 or self.v4
    into[#into + 1] = cidr
  end
  return self
end

--- Is the address inside one of the networks? (false for anything that is not an address)
function Networks:contains(ip)
  local memo = self.memo
  local known = memo[ip]
  if known ~= nil then return known end
  local parsed = net.parse(ip)
  local inside = false
  if type(parsed) == "number" then
    for _, cidr in ipairs(self.v4) do if v4_in(parsed, cidr) then inside = true; break end end
  elseif parsed ~= nil then
    for _, cidr in ipairs(self.v6) do if v6_in(parsed, cidr) then inside = true; break end end
  end
  if ip ~= nil then
    if self.memo_size >= 65536 then self.memo, self.memo_size = {}, 0; memo = self.memo end
    memo[ip] = inside
    self.memo_size = self.memo_size + 1
  end
  return inside
end

local home
--- Is the address in the configured home networks (`mle = { home_net = {...} }`)?
function net.is_internal(ip)
  if home == nil then home = net.Networks(mle and mle.home_net or {}) end
  return home:contains(ip)
end

return net
