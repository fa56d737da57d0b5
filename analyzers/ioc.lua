-- ioc: addresses, domains and TLS fingerprints on indicator lists.
--
-- Reads indicator lists (plain text, one indicator per line, `#` comments; the
-- format is in docs/analyzers/ioc.md) from analyzers/data/ioc/ when it loads, into
-- local Lua sets, and matches:
--   - flow, dns, tls, http: src_ip and dest_ip (exact addresses and CIDR networks; an
--     alert's addresses are those of its flow record, which follows it);
--   - dns: the query name (v2 rrname, v3 queries[]), with answers = true also the
--     answered addresses and CNAME names;
--     tls: the SNI; http: the hostname (a listed domain also covers its subdomains);
--   - tls: the JA3 and JA3S hashes and the JA4 fingerprint.
-- A match is a finding: "dest_ip 135.148.121.246 is on example.txt (Dridex C2)".
-- When a list file changes, MLE reloads the analyzers (the script watcher also
-- watches analyzers/data/), and setup() here reads the lists anew.

analyzer = { event_types = { "flow", "dns", "tls", "http" }, order = 30 }

local s = mle.settings{
  folder = "analyzers/data/ioc",   -- where the lists are (relative to the root)
  files = { "example.txt", "ip.txt", "domain.txt", "ja3.txt", "local.txt" },  -- missing ones are skipped
  w_ip = 0.9,      -- score of a match, by kind
  w_domain = 0.9,
  w_ja3 = 0.7,     -- JA3 collides across software more than an address does
  answers = false, -- also match DNS answers (A/AAAA addresses, CNAME names): ~2 field reads per answer
}

local net = require "mle.net"
local cache = require "mle.cache"
local find, sub, lower, match, gsub = string.find, string.sub, string.lower, string.match, string.gsub

local ips, domains, fingerprints = {}, {}, {}   -- indicator -> "file (note)"
local cidrs, cidr_note = nil, {}
local counts = { ip = 0, cidr = 0, domain = 0, ja3 = 0, ja4 = 0 }

-- the kind of an indicator line (after comments and spaces are gone)
local function classify(text)
  local kind, rest = match(text, "^(%a[%w]*):(.+)$")
  kind = kind and lower(kind)
  if kind and (kind == "ip" or kind == "domain" or kind == "ja3" or kind == "ja4" or kind == "cidr") then
    text = rest
  else
    kind = nil
  end
  text = lower(text)
  -- a URL (URLhaus lists): its host
  local host = match(text, "^%a[%w+.-]*://([^/:?#]+)")
  if host then text = host end
  if kind then return kind, text end
  if match(text, "^%x+$") and #text == 32 then return "ja3", text end
  if match(text, "^[tqd]%d%d[di]%d%d%d%d%w%w_%x+_%x+$") then return "ja4", text end
  if find(text, "/", 1, true) then return "cidr", text end
  local v4 = match(text, "^(%d+%.%d+%.%d+%.%d+):%d+$")   -- address:port (Feodo Tracker)
  if v4 then return "ip", v4 end
  if match(text, "^%d+%.%d+%.%d+%.%d+$") or find(text, ":", 1, true) then return "ip", text end
  text = gsub(gsub(text, "^%*%.", ""), "%.$", "")   -- *.evil.example, evil.example.
  if match(text, "^[%w_.-]+$") and find(text, ".", 1, true) then return "domain", text end
  return nil, text
end

local function load_list(name)
  local path = s.folder .. "/" .. name
  local f = io.open(path)
  if not f then return 0 end
  local content = f:read("*a")
  f:close()
  local added, skipped = 0, 0
  for line in string.gmatch(content, "[^\r\n]+") do
    local note = match(line, "%s#%s*(.-)%s*$")
    local text = match(line, "^%s*([^%s#]+)")
    if text then
      local kind, value = classify(text)
      local source = note and note ~= "" and (name .. " (" .. note .. ")") or name
      if kind == "ip" then ips[value] = source
      elseif kind == "domain" then domains[value] = source
      elseif kind == "ja3" or kind == "ja4" then fingerprints[value] = source
      elseif kind == "cidr" then
        cidrs = cidrs or {}
        cidrs[#cidrs + 1] = value
        cidr_note[#cidrs] = source
      end
      if kind then
        counts[kind] = counts[kind] + 1
        added = added + 1
      else
        skipped = skipped + 1
      end
    end
  end
  if skipped > 0 then print(("ioc: %s: %d lines are no indicator I know (skipped)"):format(path, skipped)) end
  return added
end

local networks = {}   -- one mle.net Networks per CIDR, to name the list that matched
-- Names repeat (the bundled sample asks 171 distinct names in 684 DNS queries, SNIs and
-- HTTP hosts), and walking a name's parent domains makes a new string per label: the
-- verdicts of about the last 4,096 names (of up to 256 bytes) are kept, by name: the
-- listed domain that matched, or false.
local verdicts
function setup()
  local total = 0
  verdicts = cache.LRU(8192)
  for _, name in ipairs(s.files) do total = total + load_list(name) end
  if cidrs then
    for i, c in ipairs(cidrs) do networks[i] = net.Networks{ c } end
    cidrs = net.Networks(cidrs)
  end
  print(("ioc: %d indicators (%d addresses, %d networks, %d domains, %d JA3, %d JA4) from %s"):format(
    total, counts.ip, counts.cidr, counts.domain, counts.ja3, counts.ja4, s.folder))
end

-- the list entry for name or one of its parent domains
local function lookup_domain(name)
  if find(name, "%u") then name = lower(name) end
  local hit = domains[name]
  if hit then return hit, name end
  local dot = find(name, ".", 1, true)
  while dot do
    local parent = sub(name, dot + 1)
    hit = domains[parent]
    if hit then return hit, parent end
    dot = find(name, ".", dot + 1, true)
  end
  return nil
end

-- the same, remembered
local function domain_hit(name)
  if name == nil or counts.domain == 0 then return nil end
  if type(name) ~= "string" or #name > 256 then return lookup_domain(name) end
  local listed = verdicts:get(name)
  if listed == nil then
    local _
    _, listed = lookup_domain(name)
    verdicts:set(name, listed or false)
  end
  if listed then return domains[listed], listed end
  return nil
end

local function ip_hit(ip)
  if ip == nil then return nil end
  local hit = ips[ip]
  if hit then return hit end
  if cidrs and cidrs:contains(ip) then
    for i, n in ipairs(networks) do
      if n:contains(ip) then return cidr_note[i] end
    end
  end
  return nil
end

local best, reasons
local function add(w, text)
  if w > best then best = w end
  if reasons == nil then reasons = { text } else reasons[#reasons + 1] = text end
end

local function check_name(field, name)
  local hit, listed = domain_hit(name)
  if hit then
    name = lower(name)
    add(s.w_domain, field .. " " .. name .. (listed ~= name and " (under " .. listed .. ")" or "") .. " is on " .. hit)
  end
end

local function check_fingerprints(tls)
  local ja3, ja3s, ja4 = tls.ja3, tls.ja3s, tls.ja4
  ja3, ja3s = ja3 and ja3.hash, ja3s and ja3s.hash
  if type(ja4) == "table" then ja4 = ja4.hash end
  local hit = ja3 and fingerprints[ja3]
  if hit then add(s.w_ja3, "JA3 " .. ja3 .. " is on " .. hit) end
  hit = ja3s and fingerprints[ja3s]
  if hit then add(s.w_ja3, "JA3S " .. ja3s .. " is on " .. hit) end
  hit = type(ja4) == "string" and fingerprints[lower(ja4)]
  if hit then add(s.w_ja3, "JA4 " .. ja4 .. " is on " .. hit) end
end

function loop(msg)
  local fields = mle.fields(msg)
  best, reasons = 0, nil
  local src, dest = fields.src_ip, fields.dest_ip
  local hit = ip_hit(dest)
  if hit then add(s.w_ip, "dest_ip " .. dest .. " is on " .. hit) end
  hit = ip_hit(src)
  if hit then add(s.w_ip, "src_ip " .. src .. " is on " .. hit) end

  local et = fields.event_type
  if et == "dns" then
    local dns = fields.dns
    if dns then
      local rrname = dns.rrname
      if rrname then
        check_name("dns query", rrname)
      else
        local queries = dns.queries         -- Suricata 8 (DNS v3)
        if queries then for _, q in ipairs(queries) do check_name("dns query", q.rrname) end end
      end
      local answers = s.answers and dns.answers
      if answers and type(answers) ~= "string" then
        for _, a in ipairs(answers) do
          local rrtype = a.rrtype
          if rrtype == "A" or rrtype == "AAAA" then
            hit = ip_hit(a.rdata)
            if hit then add(s.w_ip, "dns answer " .. a.rdata .. " is on " .. hit) end
          elseif rrtype == "CNAME" then
            check_name("dns answer", a.rdata)
          end
        end
      end
    end
  elseif et == "tls" then
    local tls = fields.tls
    if tls then
      if counts.domain > 0 then check_name("tls sni", tls.sni) end
      if counts.ja3 + counts.ja4 > 0 then check_fingerprints(tls) end   -- else nothing to read
    end
  elseif et == "http" then
    local http = fields.http
    if http then check_name("http hostname", http.hostname) end
  end

  if reasons then
    mle.finding(msg, 1 - (1 - best) * (reasons[2] and 0.5 or 1), table.concat(reasons, "; "))
  else
    mle.score(msg, 0)
  end
end
