-- Pre-trained scikit-learn models exported by `mle export-model` (docs/library.md,
-- "Exported models"): logistic regression, random forest, gradient boosting.
--
--   local models = require "mle.models"
--   local model
--   function setup()
--     local f = assert(io.open("analyzers/dga-model.json"))   -- readable during setup
--     model = models.load_json(f:read("*a"))                  -- = models.Exported{json = text}
--     f:close()
--   end
--   function loop(msg)
--     local p = model:predict_proba_one({len = 12, digits = 0.25, entropy = 3.1})
--   end
--
-- x is a table by feature name (when the model has feature names) or an array in the
-- training column order ({12, 0.25, 3.1}). predict_proba(x) gives {class = p} (the
-- probabilities of scikit-learn's predict_proba); predict_proba_one(x) the probability
-- of the second class for a binary model (classes_[1]), else the same table;
-- predict_one(x) the most probable class (the first on ties, as numpy's argmax).

local unit = require "mle.util.unit"

local Exported = unit.class{
  name = "models.Exported", module = "mle.models.exported", kind = "model",
  options = { json = unit.string{ describe = "the text of an exported model (mle export-model)" } },
}

local exp = math.exp
local KINDS = {logistic_regression = true, random_forest = true, gradient_boosting = true}

--- Decode and check the export; the state keeps the document (`doc`), not the text.
function Exported.init(s)
  local ok, doc = pcall(cjson.decode, s.json)
  if not ok or type(doc) ~= "table" then
    error("models.Exported: option \"json\" is not a JSON document: " .. tostring(doc), 4)
  end
  if doc.format ~= "mle-model" then
    error("models.Exported: not an MLE model export (format is " .. tostring(doc.format) .. ")", 4)
  end
  if doc.version ~= 1 then
    error("models.Exported: export version " .. tostring(doc.version) .. " is not supported (1 is)", 4)
  end
  if not KINDS[doc.kind] then error("models.Exported: unknown model kind " .. tostring(doc.kind), 4) end
  if doc.feature_names == cjson.null then doc.feature_names = nil end
  s.json, s.doc = nil, doc
end

-- what the library's conformance test builds it with: a logistic regression over a, b
Exported.test_options = {
  json = '{"format": "mle-model", "version": 1, "kind": "logistic_regression", "classes": [0, 1], '
    .. '"n_features": 2, "feature_names": ["a", "b"], "coef": [[1.5, -2.0]], "intercept": [0.25]}',
}

-- x (by name or by position) as an array of n_features numbers
function Exported:vector(x)
  local doc, v = self.state.doc, {}
  if x[1] ~= nil or doc.feature_names == nil then
    for i = 1, doc.n_features do
      local value = x[i]
      if type(value) ~= "number" then
        error(string.format("exported model: feature %d is %s, not a number", i, tostring(value)), 3)
      end
      v[i] = value
    end
    return v
  end
  for i, name in ipairs(doc.feature_names) do
    local value = x[name]
    if type(value) ~= "number" then
      error(string.format("exported model: feature %q is %s, not a number", name, tostring(value)), 3)
    end
    v[i] = value
  end
  return v
end

-- the leaf value a tree gives v (nodes 0-based in the export, as in scikit-learn)
local function leaf(tree, v)
  local feature, threshold, left, right = tree.feature, tree.threshold, tree.left, tree.right
  local node = 1
  while feature[node] >= 0 do
    if v[feature[node] + 1] <= threshold[node] then node = left[node] + 1 else node = right[node] + 1 end
  end
  return tree.value[node]
end

local function softmax(raw)
  local top = -math.huge
  for _, r in ipairs(raw) do if r > top then top = r end end
  local out, sum = {}, 0
  for k, r in ipairs(raw) do out[k] = exp(r - top); sum = sum + out[k] end
  for k = 1, #out do out[k] = out[k] / sum end
  return out
end

local function expit(r) return 1 / (1 + exp(-r)) end

-- per-class probabilities as an array in the order of doc.classes
local PROBA = {}

function PROBA.logistic_regression(doc, v)
  local raw = {}
  for k, row in ipairs(doc.coef) do
    local d = 0
    for j, c in ipairs(row) do d = d + c * v[j] end
    raw[k] = d + doc.intercept[k]
  end
  if #raw == 1 then
    local p = expit(raw[1])
    return {1 - p, p}
  end
  return softmax(raw)
end

function PROBA.random_forest(doc, v)
  local sum = {}
  for k = 1, #doc.classes do sum[k] = 0 end
  for _, tree in ipairs(doc.trees) do
    local value = leaf(tree, v)
    for k = 1, #sum do sum[k] = sum[k] + value[k] end
  end
  for k = 1, #sum do sum[k] = sum[k] / #doc.trees end
  return sum
end

function PROBA.gradient_boosting(doc, v)
  local raw = {}
  for k, r in ipairs(doc.init) do raw[k] = r end
  local rate = doc.learning_rate
  for _, stage in ipairs(doc.stages) do
    for k, tree in ipairs(stage) do raw[k] = raw[k] + rate * leaf(tree, v) end
  end
  if #raw == 1 then
    local p = expit(raw[1])
    return {1 - p, p}
  end
  return softmax(raw)
end

--- {class = probability}.
function Exported:predict_proba(x)
  local p, out = PROBA[self.state.doc.kind](self.state.doc, self:vector(x)), {}
  for k, c in ipairs(self.state.doc.classes) do out[c] = p[k] end
  return out
end

--- P(second class) for a binary model; {class = probability} otherwise.
function Exported:predict_proba_one(x)
  local p = PROBA[self.state.doc.kind](self.state.doc, self:vector(x))
  if #self.state.doc.classes == 2 then return p[2] end
  local out = {}
  for k, c in ipairs(self.state.doc.classes) do out[c] = p[k] end
  return out
end

--- The most probable class.
function Exported:predict_one(x)
  local p = PROBA[self.state.doc.kind](self.state.doc, self:vector(x))
  local best = 1
  for k = 2, #p do if p[k] > p[best] then best = k end end
  return self.state.doc.classes[best]
end

return Exported
