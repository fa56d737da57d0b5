-- mle.anomaly: anomaly detectors. d:learn_one(x), d:score_one(x) (higher = more
-- anomalous, in [0, 1]), d:score_learn(x) = score, then learn.
--
--   local anomaly = require "mle.anomaly"
--   local hst = anomaly.HalfSpaceTrees{n_trees = 10, height = 8, window_size = 250}
return {
  HalfSpaceTrees = require "mle.anomaly.hst",
  ZScore = require "mle.anomaly.zscore",
  MAD = require "mle.anomaly.mad",
  Rarity = require "mle.anomaly.rarity",
  deviation = require "mle.anomaly.deviation",
}
