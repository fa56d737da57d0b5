-- Settings for this golden case, merged over the root's config.lua: this case lowers
-- the threshold so that three queries make a finding.
analyzers = { { tag = "__NAME__", script = "__NAME__.lua", settings = { threshold = 3 } } }
