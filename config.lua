-- MLE's shipped pipeline: the bundled sample EVE data through the shipped analyzers.
--
--   mle replay            replays data/eve/sample.eve.json.gz and prints a summary
--   mle run               same input, kept open (file:// follows appended lines)
--
-- No redis_host here, so MLE starts a private Redis for the run. To use your own:
--   redis_host = "127.0.0.1"
--   redis_port = 6379

inputs = {
  { tag = "eve", uri = "file://data/eve/sample.eve.json.gz", script = "suricata-filter.lua" },
}

-- No analyzers table: every analyzer in analyzers/ that declares the event types it
-- wants (analyzer = { event_types = ... } at its top) runs, in its declared order.
-- An entry here overrides one (same tag as the file name) or adds an explicit chain.

-- Events of one source host go to one worker, so the analyzers keep per-host state in
-- local tables (no Redis round trip per event) and see each host's events in order.
mle = { shard_key = "src_ip" }

outputs = {
  -- relative file paths land in the log directory (var/log/ under the root)
  { tag = "eve-mle", uri = "file://eve-mle.json" },
}
