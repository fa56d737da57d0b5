-- flow-outlier: flows whose volume, direction or duration is far from what their
-- source host, and their service, usually do.
--
-- Features of each flow event: bytes and packets each way, the producer/consumer ratio
-- PCR = (bytes_toserver - bytes_toclient) / (sum), the duration (flow.end - flow.start),
-- bytes per packet. Three views, all on log-scaled features:
--
--   host     the source's own history, in local bounded state (the default config
--            shards events by src_ip, so every flow of a host reaches one worker):
--            robust z of its upload (median and MAD of its last `host_window` flows,
--            mle.anomaly.MAD) and z of its download (mle.anomaly.ZScore);
--   service  dest_port/app_proto, per worker: z of upload, download, duration, bytes
--            per packet and PCR (mle.anomaly.ZScore, standard deviations floored);
--   shape    Half-Space Trees (mle.anomaly.HalfSpaceTrees) over the five features
--            scaled to [0, 1] (log of a maximum), one small forest per worker.
--
-- Only "more" counts for volumes and duration (a flow smaller than usual is not what an
-- analyst looks for); PCR counts both ways. Score: the larger of the host and service
-- z, mapped z^2 / (z^2 + z_threshold^2) (0.5 at the threshold), weighed by the forest
-- once it is trained. A finding needs that z past `z_threshold`, out of burn-in (a
-- host: `host_burn_in` flows; a service: `service_burn_in`), a flow of at least
-- `min_bytes`, and the forest's agreement (`hst_threshold`) once trained:
--   "10.0.0.5 sent 48.0 MB to 203.0.113.9:443 in 12.0 s (received 3.1 kB),
--    310x its median upload (MAD z 14.2), shape 0.81"
--
-- Cost (measured, docs/analyzers/flow-outlier.md): a forest scores 30-80 us per flow in
-- Lua, so it is small (5 trees of height 6), learns one flow in `hst_sample`, and scores
-- only the flows whose z is already past `hst_gate`; a host's median and MAD are
-- recomputed every `refresh` flows, not on every flow.

analyzer = { event_types = { "flow" }, order = 40 }

local s = mle.settings{
  z_threshold = 8,          -- z (log scale) for a finding; the score is 0.5 there
  min_bytes = 100000,       -- a finding needs a flow at least this large (both ways)
  host_burn_in = 10,        -- flows of a host before the host view can find
  service_burn_in = 50,     -- flows of a service before the service view can find
  host_window = 32,         -- last flows of a host kept for its median/MAD
  hosts = 20000,            -- hosts kept per worker (LRU)
  services = 2000,          -- services kept per worker (LRU)
  refresh = 8,              -- recompute a host's median/MAD every this many flows
  mad_floor = 0.1,          -- smallest MAD of a host (log units: a 10 % spread)
  sd_floor = 0.25,          -- smallest standard deviation (log units)
  hst_trees = 5,            -- Half-Space Trees: trees
  hst_height = 6,           -- ... height
  hst_window = 250,         -- ... window (flows learnt)
  hst_sample = 16,          -- the forest learns one flow in this many
  hst_gate = 4,             -- the forest scores only flows whose z is past this
  hst_threshold = 0.6,      -- a finding needs the forest's score past this (once trained)
}

local anomaly = require "mle.anomaly"
local cache = require "mle.cache"
local ZScore, MAD = anomaly.ZScore, anomaly.MAD

local log, exp, sqrt, tonumber, sub = math.log, math.exp, math.sqrt, tonumber, string.sub
local format = string.format
local SCALE = 1.482602218505602   -- MAD -> standard deviation of a normal
local LOG_MAX_BYTES, LOG_MAX_DUR, LOG_MAX_BPP = log(1 + 1e10), log(1 + 86400), log(1 + 65536)
local NAMES = { "upload", "download", "duration", "bytes per packet", "producer/consumer ratio" }

local hosts = cache.LRU(s.hosts)
local services = cache.LRU(s.services)
local hst = anomaly.HalfSpaceTrees{ n_trees = s.hst_trees, height = s.hst_height,
                                    window_size = s.hst_window, seed = 7 }
local flows = 0

-- (x - mean) / sd of a ZScore unit before it learns x (0 for its first two values)
local function z_learn(u, x)
  local st = u.state
  local z = 0
  if st.n >= 2 then
    local sd = sqrt(st.m2 / (st.n - 1))
    if sd < s.sd_floor then sd = s.sd_floor end
    z = (x - st.mean) / sd
  end
  u:learn_one(x)
  return z
end

-- a host's upload: robust z against the median/MAD of its window, refreshed every
-- s.refresh flows (every flow while the window is young)
local function mad_learn(h, x)
  local z = (x - h.med) / h.spread
  local m = h.mad
  m:learn_one(x)
  if h.n <= 16 or h.n % s.refresh == 0 then
    local med, d = m:median_mad()
    if d < s.mad_floor then d = s.mad_floor end
    h.med, h.spread = med, SCALE * d
  end
  return z
end

-- flow.end - flow.start in seconds: flow.age (whole seconds) for flows of a minute or
-- more; below that, from the timestamps' seconds fields (sub-second)
local function duration(f)
  local age = tonumber(f.age) or 0
  if age >= 59 then return age end
  local t0, t1 = f.start, f["end"]
  if t0 == nil or t1 == nil then return age end
  local s0, s1 = tonumber(sub(t0, 18, 26)), tonumber(sub(t1, 18, 26))
  if s0 == nil or s1 == nil then return age end
  return (s1 - s0) % 60
end

local function size(n)
  if n >= 1e9 then return format("%.1f GB", n / 1e9) end
  if n >= 1e6 then return format("%.1f MB", n / 1e6) end
  if n >= 1e3 then return format("%.1f kB", n / 1e3) end
  return format("%d B", n)
end

local function times(ratio)
  if ratio >= 10 then return format("%.0fx", ratio) end
  return format("%.1fx", ratio)
end

-- the finding's reason: what the flow did, then against what it stands out
local function reason(msg, src, key, up, down, dur, bpp, pcr, h, v, hz, hw, sz, sw, shape, trained)
  local what = format("%s sent %s to %s:%s in %.1f s (received %s)", tostring(src), size(up),
    tostring(msg.dest_ip), tostring(msg.dest_port), dur, size(down))
  local why
  if hz >= sz then
    if hw == 1 then
      local med = exp(h.med) - 1
      why = format("%s its median upload (MAD z %.1f)", times(up / (med > 1 and med or 1)), hz)
    else
      local mean = exp(h.down.state.mean) - 1
      why = format("%s its typical download (z %.1f)", times(down / (mean > 1 and mean or 1)), hz)
    end
  elseif sw == 5 then
    why = format("PCR %.2f where %s averages %.2f (z %.1f)", pcr, key, v[5].state.mean, sz)
  else
    local typical = exp(v[sw].state.mean) - 1
    local x = sw == 1 and up or sw == 2 and down or sw == 3 and dur or bpp
    why = format("%s the typical %s of %s (z %.1f)", times(x / (typical > 0.001 and typical or 0.001)),
      NAMES[sw], key, sz)
  end
  if trained then why = why .. format(", shape %.2f", shape) end
  return what .. ", " .. why
end

function loop(msg)
  local fields = mle.fields(msg)
  local f = fields.flow
  if f == nil then return end
  local up, down = tonumber(f.bytes_toserver) or 0, tonumber(f.bytes_toclient) or 0
  local pkts = (tonumber(f.pkts_toserver) or 0) + (tonumber(f.pkts_toclient) or 0)
  if pkts == 0 then return end
  local total = up + down
  local dur = duration(f)
  local lu, ld, lt = log(1 + up), log(1 + down), log(1 + dur)
  local bpp = total / pkts
  local lb = log(1 + bpp)
  local pcr = total > 0 and (up - down) / total or 0

  -- host view. A host's first flow only leaves two numbers (most sources send few).
  local src = fields.src_ip
  local h = hosts:get(src)
  local hz, hw = 0, 0
  if h == nil then
    hosts:set(src, { n = 1, u0 = lu, d0 = ld })
  else
    if h.n == 1 then
      local m, d = MAD{ window_size = s.host_window, grace_period = 1 }, ZScore{ grace_period = 2 }
      m:learn_one(h.u0)
      d:learn_one(h.d0)
      h.mad, h.down, h.med, h.spread = m, d, h.u0, SCALE * s.mad_floor
    end
    local n = h.n + 1
    h.n = n
    local zu, zd = mad_learn(h, lu), z_learn(h.down, ld)
    if n > s.host_burn_in then
      if zu >= zd then hz, hw = zu, 1 else hz, hw = zd, 2 end
    end
  end

  -- service view: app_proto (or proto) / dest_port
  local key = (fields.app_proto or fields.proto or "?") .. "/" .. tostring(fields.dest_port)
  local v = services:get(key)
  if v == nil then
    v = { n = 0, ZScore{ grace_period = 2 }, ZScore{ grace_period = 2 }, ZScore{ grace_period = 2 },
          ZScore{ grace_period = 2 }, ZScore{ grace_period = 2 } }
    services:set(key, v)
  end
  local n = v.n + 1
  v.n = n
  local z1, z2, z3, z4, z5 = z_learn(v[1], lu), z_learn(v[2], ld), z_learn(v[3], lt), z_learn(v[4], lb),
    z_learn(v[5], pcr)
  if z5 < 0 then z5 = -z5 end
  local sz, sw = 0, 0
  if n > s.service_burn_in then
    sz, sw = z1, 1
    if z2 > sz then sz, sw = z2, 2 end
    if z3 > sz then sz, sw = z3, 3 end
    if z4 > sz then sz, sw = z4, 4 end
    if z5 > sz then sz, sw = z5, 5 end
  end

  -- shape view: the forest learns a sample and scores only the flows already unusual
  local z = hz > sz and hz or sz
  flows = flows + 1
  local learn = flows % s.hst_sample == 0
  local trained = hst.state.windows > 0
  local shape = 0.5
  if learn or (trained and z >= s.hst_gate) then
    local x = { u = lu / LOG_MAX_BYTES, d = ld / LOG_MAX_BYTES, t = lt / LOG_MAX_DUR, b = lb / LOG_MAX_BPP,
                r = (pcr + 1) / 2 }
    if trained and z >= s.hst_gate then shape = hst:score_one(x) end
    if learn then hst:learn_one(x) end
  end

  local score = 0
  if z > 0 then score = z * z / (z * z + s.z_threshold * s.z_threshold) end
  if trained then score = score * (0.5 + 0.5 * shape) end
  if z < s.z_threshold or total < s.min_bytes or (trained and shape < s.hst_threshold) then
    mle.score(msg, score)
    return
  end
  mle.finding(msg, score, reason(msg, src, key, up, down, dur, bpp, pcr, h, v, hz, hw, sz, sw, shape, trained))
end
