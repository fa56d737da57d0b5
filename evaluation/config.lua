-- The evaluation root: labeled EVE through evaluation/analyzers/ (mle evaluate evaluation/config.lua ...).
-- The input's file is a placeholder: mle evaluate names the data on its command line.
inputs = {
  { tag = "eve", uri = "file://data/stream.json", script = "route.lua" },
}
outputs = {
  { tag = "eve-mle", uri = "file://eve-mle.json" },
}
-- no per-instruction budget hook (the evaluation's own analyzers are trusted): Lua runs ~2x faster
mle = { max_instructions = 0 }
