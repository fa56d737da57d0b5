-- a short burn-in (one date, 5 events) so a few real records are enough
analyzers = { { tag = "rare", script = "rare.lua", settings = { burn_in_days = 0, burn_in_events = 5 } } }
-- per-host state: all of a host's events in one shard, in order (the default config's recommendation)
mle = { shard_key = "src_ip" }
