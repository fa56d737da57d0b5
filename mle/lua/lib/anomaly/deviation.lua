-- From a standardized deviation to an anomaly score in [0, 1].
--
--   local deviation = require "mle.anomaly.deviation"
--   deviation.score(3)   --> 0.9973: the share of a normal distribution closer to its mean than 3 sd
--
-- score(z) = P(|Z| < |z|) for a standard normal Z = erf(|z| / sqrt(2)) = 2 |Phi(z) - 1/2|,
-- River's GaussianScorer mapping: 1 sd -> 0.683, 2 sd -> 0.954, 3 sd -> 0.997.
-- erf is computed to ~1e-15: its Taylor series below 2.5, the continued fraction of
-- erfc above (Lua has no erf).

local deviation = {}

local exp, sqrt, abs = math.exp, math.sqrt, math.abs
local TWO_OVER_SQRT_PI = 2 / sqrt(math.pi)

--- The error function.
function deviation.erf(x)
  local a = abs(x)
  local value
  if a < 2.5 then
    local term, sum, n, x2 = a, a, 0, a * a
    repeat
      n = n + 1
      term = -term * x2 / n
      local add = term / (2 * n + 1)
      sum = sum + add
    until abs(add) <= 1e-17 * abs(sum)
    value = TWO_OVER_SQRT_PI * sum
  else
    -- erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
    local fraction = a
    for k = 60, 1, -1 do fraction = a + (k / 2) / fraction end
    value = 1 - exp(-a * a) / (sqrt(math.pi) * fraction)
  end
  if x < 0 then return -value end
  return value
end

--- The anomaly score of a standardized deviation z (see the header).
function deviation.score(z)
  if z ~= z then return 0 end
  return deviation.erf(abs(z) / sqrt(2))
end

return deviation
