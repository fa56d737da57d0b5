-- a short slice: the unique-subdomain score starts at 3 and is full at 20 per source
-- (defaults 10 and 100)
analyzers = { { tag = "dns-tunnel", script = "dns-tunnel.lua", settings = { unique_low = 3, unique_high = 20 } } }
