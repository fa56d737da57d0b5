-- MLE on a sensor, next to Suricata (used by docker-compose.yml; works as is elsewhere).
--
--   mle run -r /opt/mle -c deploy/sensor.lua
--
-- Suricata writes EVE to /var/log/suricata/eve.json (filetype: regular); MLE follows
-- it across logrotate. State lives in the Redis/Valkey named below, so it survives
-- restarts of MLE. Set MLE_OPENSEARCH_URL (e.g. opensearch+http://opensearch:9200/mle-%Y.%m.%d)
-- to ship ECS documents to Elasticsearch/OpenSearch instead of the file.

redis_host = os.getenv("MLE_REDIS_HOST") or "redis"
redis_port = tonumber(os.getenv("MLE_REDIS_PORT") or "6379")

-- every analyzer in analyzers/ that declares its event types runs (see config.lua)
inputs = {
  { tag = "eve", uri = "tail:///var/log/suricata/eve.json", script = "suricata-filter.lua" },
}

outputs = {
  { tag = "eve-mle", uri = "file:///var/log/mle/eve-mle.json", max_bytes = 1000000000, keep = 5 },
}

-- with MLE_OPENSEARCH_URL set, annotated events go to the search cluster as ECS documents
-- (outputs/ecs.lua) instead of the file; see docs/outputs.md for both at once
local search = os.getenv("MLE_OPENSEARCH_URL")
if search and search ~= "" then
  outputs = { { tag = "search", uri = search, script = "ecs.lua" } }
end

mle = { log_dir = "/var/log/mle", run_dir = "/var/run/mle" }
