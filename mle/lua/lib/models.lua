-- mle.models: supervised online models and pre-trained models.
-- m:learn_one(x, y), m:predict_proba_one(x), m:predict_one(x), m:score_learn(x, y).
--
--   local models = require "mle.models"
--   local m = models.LogisticRegression{lr = 0.1}
return {
  LogisticRegression = require "mle.models.logistic_regression",
  MultinomialNB = require "mle.models.naive_bayes",
  hashing = require "mle.models.hashing",
  load_json = require("mle.models.exported").load_json,
}
