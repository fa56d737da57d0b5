-- ecs.lua: an output script that maps a Suricata EVE record, with MLE's
-- annotation, to the Elastic Common Schema, the way Elastic's own Suricata
-- integration (its "eve" ingest pipeline) lays it out, so Kibana's and
-- OpenSearch Dashboards' Suricata views and detection rules find their fields.
--
--   outputs = {
--     { tag = "es", uri = "elasticsearch+http://127.0.0.1:9200/mle-%Y.%m.%d", script = "ecs.lua" },
--   }
--
-- What goes where (docs/outputs.md has the full table):
--   timestamp                  -> @timestamp (offset written as +00:00)
--   src_ip/src_port            -> source.ip, source.address, source.port (dest_* likewise)
--   proto                      -> network.transport (lower case)
--   app_proto / event type     -> network.protocol
--   community_id               -> network.community_id
--   event_type                 -> event.kind ("alert" for alerts, "metric" for stats, else "event"),
--                                 event.category, event.type; event.dataset = "suricata.eve"
--   alert.*                    -> rule.id, rule.name, rule.category, event.severity
--   flow.start/end             -> event.start, event.end, event.duration (nanoseconds)
--   flow.pkts/bytes_toserver   -> source.packets/bytes (toclient -> destination.*), network.bytes/packets
--   http, dns, tls, fileinfo   -> http.*, url.*, user_agent.original, dns.*, tls.*, file.* (copies)
--   everything else of EVE     -> suricata.eve.* (unchanged, flow_id included, exact)
--   mle (scores, findings, priority, errors) -> mle.* unchanged; event.risk_score = priority * 100
--
-- Return nil from format() to skip an event. To ship only what an analyzer
-- flagged, for example:   if not (e.mle and e.mle.priority) then return nil end
-- Integers stay exact with Lua 5.4 (the runtime of MLE roots); under LuaJIT a
-- flow_id above 2^53 would be rounded.

local lower, upper, gsub, match, sub = string.lower, string.upper, string.gsub, string.match, string.sub
local tostring, tonumber, type, pairs = tostring, tonumber, type, pairs

local ECS_VERSION = "8.11.0"

-- top-level EVE keys that become ECS fields (and leave suricata.eve)
local MOVED = {
  timestamp = true, src_ip = true, src_port = true, dest_ip = true, dest_port = true,
  proto = true, app_proto = true, community_id = true, mle = true,
}

-- per event type, as Elastic's integration categorises them
local TYPES = {
  alert    = { kind = "alert", category = { "network", "intrusion_detection" } },
  dns      = { type = { "protocol" }, protocol = "dns" },
  flow     = { type = { "connection" } },
  ftp      = { type = { "protocol" }, protocol = "ftp" },
  ftp_data = { type = { "protocol" }, protocol = "ftp" },
  http     = { category = { "network", "web" }, type = { "access", "protocol" }, protocol = "http" },
  http2    = { category = { "network", "web" }, type = { "access", "protocol" }, protocol = "http" },
  mqtt     = { type = { "protocol" }, protocol = "mqtt" },
  rdp      = { type = { "protocol" }, protocol = "rdp" },
  rfb      = { type = { "protocol" }, protocol = "rfb" },
  smb      = { type = { "protocol" }, protocol = "smb" },
  ssh      = { type = { "protocol" }, protocol = "ssh" },
  stats    = { kind = "metric" },
  tftp     = { type = { "protocol" }, protocol = "tftp" },
  tls      = { type = { "protocol" }, protocol = "tls" },
}

local NOT_A_PROTOCOL = { failed = true, template = true, ["template-rust"] = true, unknown = true }

local function copy_list(list)
  local out = {}
  for i = 1, #list do out[i] = list[i] end
  return out
end

-- "2026-11-23T06:00:00.123456+0100" -> "2026-11-23T06:00:00.123456+01:00" (ISO 8601 everywhere)
local function iso(ts)
  if type(ts) ~= "string" then return nil end
  return (gsub(ts, "([+-]%d%d)(%d%d)$", "%1:%2"))
end

-- seconds since the epoch and nanoseconds of a Suricata timestamp (nil if it is not one)
local function epoch_ns(ts)
  if type(ts) ~= "string" then return nil end
  local seconds = dragonfly.date2epoch(ts)
  if seconds == nil then return nil end
  local frac = match(ts, "^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d:%d%d%.(%d+)") or ""
  return seconds, tonumber(sub(frac .. "000000000", 1, 9))
end

local function duration_ns(start, stop)
  local s1, n1 = epoch_ns(start)
  local s2, n2 = epoch_ns(stop)
  if s1 == nil or s2 == nil then return nil end
  local d = (s2 - s1) * 1000000000 + (n2 - n1)
  if d < 0 then return nil end
  return d
end

local function mac(m)
  if type(m) ~= "string" then return nil end
  return (gsub(upper(m), ":", "-"))
end

local function add_unique(list, value)
  if value == nil or value == "" then return end
  for i = 1, #list do if list[i] == value then return end end
  list[#list + 1] = value
end

local function map_flow(doc, event_type, f)
  local src, dst, ev = doc.source, doc.destination, doc.event
  src.packets, src.bytes = f.pkts_toserver, f.bytes_toserver
  dst.packets, dst.bytes = f.pkts_toclient, f.bytes_toclient
  local bytes = (f.bytes_toserver or 0) + (f.bytes_toclient or 0)
  local packets = (f.pkts_toserver or 0) + (f.pkts_toclient or 0)
  if bytes > 0 then doc.network.bytes = bytes end
  if packets > 0 then doc.network.packets = packets end
  ev.start, ev["end"] = iso(f.start), iso(f["end"])
  ev.duration = duration_ns(f.start, f["end"])
  if event_type == "flow" then
    if f.state == "new" then add_unique(ev.type, "start") end
    if f.state == "closed" then add_unique(ev.type, "end") end
  end
end

local function map_alert(doc, a)
  local rule = {}
  if a.signature_id ~= nil then rule.id = tostring(a.signature_id) end
  rule.name, rule.category = a.signature, a.category
  if a.rev ~= nil then rule.version = tostring(a.rev) end
  doc.rule = rule
  doc.event.severity = a.severity
  local action = a.action
  if action == "blocked" then action = "denied" end
  if type(action) == "string" then add_unique(doc.event.type, action) end
end

local function map_http(doc, h)
  local request, response = {}, {}
  request.method, request.referrer = h.http_method, h.http_refer
  response.status_code, response.body = h.status, h.length and { bytes = h.length } or nil
  doc.http = { request = request, response = response, version = h.protocol }
  local url = { original = h.url, domain = h.hostname }
  if type(h.url) == "string" then
    url.path = match(h.url, "^([^?#]*)")
    url.query = match(h.url, "%?([^#]*)")
  end
  doc.url = url
  if h.hostname then doc.destination.domain = h.hostname end
  if h.http_user_agent then doc.user_agent = { original = h.http_user_agent } end
  if type(h.status) == "number" then doc.event.outcome = h.status < 400 and "success" or "failure" end
end

local function map_dns(doc, d, related)
  local dns = { type = d.type, response_code = d.rcode }
  if d.id ~= nil then dns.id = tostring(d.id) end
  local name, qtype = d.rrname, d.rrtype
  local queries = d.queries or d.query -- Suricata 8 (dns v3), and the dns object of alerts
  if name == nil and type(queries) == "table" and queries[1] ~= nil then
    local q = queries[1]
    name, qtype = q.rrname, q.rrtype
    dns.type = dns.type or q.type
    if dns.id == nil and q.id ~= nil then dns.id = tostring(q.id) end
  end
  if name ~= nil then dns.question = { name = name, type = qtype } end
  local flags = {}
  if d.aa then flags[#flags + 1] = "AA" end
  if d.tc then flags[#flags + 1] = "TC" end
  if d.rd then flags[#flags + 1] = "RD" end
  if d.ra then flags[#flags + 1] = "RA" end
  if #flags > 0 then dns.header_flags = flags end
  local answers, resolved = {}, {}
  local list = d.answers
  if type(list) == "table" then
    for i = 1, #list do
      local a = list[i]
      answers[#answers + 1] = { name = a.rrname, type = a.rrtype, ttl = a.ttl, data = a.rdata }
      if (a.rrtype == "A" or a.rrtype == "AAAA") and type(a.rdata) == "string" then
        add_unique(resolved, a.rdata)
        add_unique(related, a.rdata)
      end
    end
  end
  if #answers > 0 then dns.answers = answers end
  if #resolved > 0 then dns.resolved_ip = resolved end
  if next(dns) ~= nil then doc.dns = dns end
end

local function map_tls(doc, t)
  local tls, client, server = {}, {}, {}
  if type(t.version) == "string" then
    local protocol, version = match(t.version, "^(%S+) (%S+)$")
    if protocol then tls.version_protocol, tls.version = lower(protocol), version end
  end
  local sni = t.sni
  if type(sni) == "string" then
    sni = gsub(sni, "%.$", "")
    client.server_name = sni
    doc.destination.domain = sni
  end
  if t.ja3 ~= nil then client.ja3 = t.ja3.hash end
  if t.ja3s ~= nil then server.ja3s = t.ja3s.hash end
  server.subject, server.issuer = t.subject, t.issuerdn
  server.not_before, server.not_after = t.notbefore, t.notafter
  if type(t.fingerprint) == "string" then server.hash = { sha1 = gsub(upper(t.fingerprint), ":", "") } end
  if t.session_resumed ~= nil then tls.resumed = t.session_resumed end
  if next(client) ~= nil then tls.client = client end
  if next(server) ~= nil then tls.server = server end
  doc.tls = tls
end

local function map_fileinfo(doc, f)
  local file = { path = f.filename, size = f.size }
  if type(f.filename) == "string" then file.name = match(f.filename, "([^/\\]+)$") end
  if f.md5 or f.sha1 or f.sha256 then file.hash = { md5 = f.md5, sha1 = f.sha1, sha256 = f.sha256 } end
  doc.file = file
end

function format(e)
  -- one pass over the record: its top-level values (read from Python once) and the
  -- suricata.eve part (everything that does not become an ECS field)
  local r, eve = {}, {}
  for k, v in pairs(e) do
    r[k] = v
    if not MOVED[k] then eve[k] = v end
  end
  local event_type = r.event_type
  if type(event_type) == "string" then
    event_type = lower(event_type)
    eve.event_type = event_type
  end
  local params = TYPES[event_type] or {}
  local ev = {
    kind = params.kind or "event",
    category = copy_list(params.category or { "network" }),
    type = copy_list(params.type or {}),
    dataset = "suricata.eve",
    module = "suricata",
  }
  local src_ip, dest_ip = r.src_ip, r.dest_ip
  local network = { community_id = r.community_id }
  local doc = {
    ["@timestamp"] = iso(r.timestamp),
    ecs = { version = ECS_VERSION },
    event = ev,
    source = { ip = src_ip, address = src_ip, port = r.src_port },
    destination = { ip = dest_ip, address = dest_ip, port = r.dest_port },
    network = network,
    suricata = { eve = eve },
  }
  local related = {}
  add_unique(related, src_ip)
  add_unique(related, dest_ip)
  if type(r.proto) == "string" then network.transport = lower(r.proto) end
  local app = type(r.app_proto) == "string" and lower(r.app_proto) or nil
  if app == "ftp-data" then app = "ftp" end
  if app ~= nil and not NOT_A_PROTOCOL[app] then
    network.protocol = app
  else
    network.protocol = params.protocol
  end

  local ether = r.ether
  if type(ether) == "table" then
    doc.source.mac, doc.destination.mac = mac(ether.src_mac), mac(ether.dest_mac)
  end
  if type(r.flow) == "table" then map_flow(doc, event_type, r.flow) end
  if type(r.alert) == "table" then map_alert(doc, r.alert) end
  if type(r.http) == "table" then map_http(doc, r.http) end
  if type(r.dns) == "table" then map_dns(doc, r.dns, related) end
  if type(r.tls) == "table" then map_tls(doc, r.tls) end
  if type(r.fileinfo) == "table" then map_fileinfo(doc, r.fileinfo) end
  if #ev.type == 0 then ev.type = nil end
  local host = doc.destination.domain
  if #related > 0 or host ~= nil then
    doc.related = { ip = (#related > 0) and related or nil, hosts = host and { host } or nil }
  end

  -- MLE's annotation, unchanged; its priority as ECS's risk score (0-100)
  local annotation = r.mle
  if annotation ~= nil then
    doc.mle = annotation
    local priority = annotation.priority
    if type(priority) == "number" then ev.risk_score = priority * 100.0 end
  end
  return doc
end
