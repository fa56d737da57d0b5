-- mle.models: supervised online models, feature hashing and pre-trained models,
-- one module each under mle/lua/lib/models/, loaded when first used.
-- m:learn_one(x, y), m:predict_proba_one(x), m:predict_one(x), m:score_learn(x, y).
--   local models = require "mle.models"
--   local m = models.LogisticRegression{lr = 0.1}
--   local dga = models.load_json(text)      -- a model exported by `mle export-model`
local modules = {
  LogisticRegression = "mle.models.logistic_regression", MultinomialNB = "mle.models.naive_bayes",
  FeatureHasher = "mle.models.hashing", Exported = "mle.models.exported",
}

local topic = {}

--- A pre-trained model from the text of `mle export-model`'s JSON (models.Exported{json = text}).
function topic.load_json(text) return topic.Exported{ json = text } end

return setmetatable(topic, {
  __index = function(t, name)
    local module = modules[name]
    if module == nil then error("mle.models has no " .. tostring(name), 2) end
    local class = require(module)
    rawset(t, name, class)
    return class
  end,
})
