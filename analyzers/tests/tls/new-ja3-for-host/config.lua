-- a short burn-in so 15 real sessions of one host are enough
analyzers = { { tag = "tls", script = "tls.lua", settings = { burn_in = 10, worker_burn_in = 0 } } }
-- per-host state: all of a host's events in one shard, in order (the default config's recommendation)
mle = { shard_key = "src_ip" }
