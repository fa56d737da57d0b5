-- MLE on a sensor, next to Suricata: used by docker-compose.yml and deploy/mle.service.
--
--   mle run -r /opt/mle -c /etc/mle/sensor.lua
--
-- Suricata writes EVE to MLE's unix stream socket (deploy/suricata/eve-unix.yaml): MLE
-- listens, so start it first (the compose file and the systemd unit do). Analyzer state
-- lives in the Redis/Valkey named below, so it survives restarts of MLE. Every setting
-- that differs between the two deployments comes from the environment:
--
--   MLE_REDIS_HOST, MLE_REDIS_PORT   the state store (a port <= 0: the host is a unix socket path)
--   MLE_EVE_SOCKET                   the socket Suricata writes to (default /run/mle/eve.sock)
--   MLE_SOCKET_MODE, MLE_SOCKET_GROUP  its permissions (default 0660) and group (e.g. suricata)
--   MLE_OPENSEARCH_URL               also ship ECS documents, e.g. opensearch+http://opensearch:9200/mle-%Y.%m.%d
--   MLE_ROTATE_BYTES                 let MLE rotate eve-mle.json at this size (keeps 5); unset
--                                    under logrotate (deploy/mle.logrotate)

local function env(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then return default end
  return value
end

redis_host = env("MLE_REDIS_HOST", "127.0.0.1")
redis_port = tonumber(env("MLE_REDIS_PORT", "6379"))

-- every analyzer in analyzers/ that declares its event types runs (see config.lua)
inputs = {
  { tag = "eve", uri = "unix://" .. env("MLE_EVE_SOCKET", "/run/mle/eve.sock"), script = "suricata-filter.lua",
    mode = env("MLE_SOCKET_MODE", "0660"), group = env("MLE_SOCKET_GROUP", nil) },
}

-- a relative file lands in the log directory (mle.log_dir below): /var/log/mle/eve-mle.json
local annotated = { tag = "eve-mle", uri = "file://eve-mle.json" }
local rotate = tonumber(env("MLE_ROTATE_BYTES", ""))
if rotate then
  annotated.max_bytes, annotated.keep = rotate, 5
end
outputs = { annotated }

-- with MLE_OPENSEARCH_URL set, every annotated event also goes to the search cluster as an
-- ECS document (outputs/ecs.lua); the bulk output retries, spills to disk during an outage
local search = env("MLE_OPENSEARCH_URL", nil)
if search then
  outputs[#outputs + 1] = { tag = "search", uri = search, script = "ecs.lua" }
end

-- drain_timeout: a stop finishes what was read within this many seconds; the systemd
-- unit's TimeoutStopSec and the compose file's stop_grace_period allow it plus a margin
mle = { log_dir = "/var/log/mle", run_dir = "/run/mle", drain_timeout = 120 }
