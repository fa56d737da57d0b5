-- a short burn-in so 15 real sessions of one host are enough
analyzers = { { tag = "tls", script = "tls.lua", settings = { burn_in = 10, worker_burn_in = 0 } } }
