-- MLE patterns: string.find/match/gmatch/gsub whose work counts against the
-- instruction budget when it could be large.
--
-- Lua's pattern matcher is C: one call runs to its end without the count hook
-- firing, and a pattern with several quantifiers can backtrack for hours on a
-- long subject (string.find(string.rep("a", 40000), ".-.-.-.-b")). Each pattern
-- gets a worst-case cost estimate (below); when the subject is short enough that
-- the C matcher's worst case is small, the call goes to C, as before. Otherwise
-- it runs in the matcher below, a Lua port of lstrlib.c with the running
-- version's semantics (5.4, or 5.1 for LuaJIT), whose every step the budget counts.
--
-- Worst case of the C matcher, in steps, for a pattern of m items of which q can
-- repeat or scan (*, +, -, %b, a back-reference %1-%9) and r are optional (?), on a
-- subject of n characters: m * 2^r * n^q / q!, times n more when it is not
-- anchored (it is tried at every position); a repetition at the very end of the
-- pattern does not count (it never backtracks). The C path is taken while that
-- stays under C_STEPS (10^7: tens of milliseconds of C at most).
--
-- This file must parse under Lua 5.4 and LuaJIT. Called with no arguments; returns
-- { find, match, gmatch, gsub }, drop-in replacements of the string library's.

local rawtype, error, pcall, tostring, tonumber = type, error, pcall, tostring, tonumber
local floor, HUGE = math.floor, math.huge
local byte, sub, char, concat, str_format = string.byte, string.sub, string.char, table.concat, string.format
local unpack = table.unpack or unpack
local c_find, c_match, c_gmatch, c_gsub = string.find, string.match, string.gmatch, string.gsub
local LUA51 = _VERSION == "Lua 5.1"

-- the C matchers' error messages: 5.4's, and LuaJIT's where they differ
local MSG = {
  capture_index = "invalid capture index %%%d",
  balance = "malformed pattern (missing arguments to '%b')",
}
if LUA51 then
  MSG.capture_index, MSG.balance = "invalid capture index", "unbalanced pattern"
end

-- An error of the matcher is raised as { [FAILED] = message } and re-raised by the
-- function the script called, at the script's line (as the C functions do).
local FAILED = {}
local function fail(text) error({ [FAILED] = text }, 0) end

-- the results of a pcall of the matcher; its error raised at the caller's caller
-- (call this in a tail call from the function the script called)
local function reraise(ok, ...)
  if ok then return ... end
  local e = ...
  if rawtype(e) == "table" and e[FAILED] then error(e[FAILED], 2) end
  error(e, 0) -- the budget, memory, or a replacement function's own error
end

local C_STEPS = 1e7
local MAXCAPTURES = 32
local MAXDEPTH = 200 -- nested matcher calls before "pattern too complex" (as lstrlib.c and LuaJIT)
local CAP_UNFINISHED, CAP_POSITION = -1, -2

local ESC, DOT, LBRACKET, RBRACKET, CARET, DOLLAR = 37, 46, 91, 93, 94, 36 -- % . [ ] ^ $
local LPAREN, RPAREN, STAR, PLUS, MINUS, QUESTION = 40, 41, 42, 43, 45, 63 -- ( ) * + - ?

-- character classes (%a, %d, ...), taken from the C matcher so that locale and
-- version agree (under LuaJIT, whose matcher has no %g, "%g" is a plain "g")
local CLASS = {}
for letter in ("acdglpsuwxACDGLPSUWX"):gmatch(".") do
  local members, pattern = {}, "^%" .. letter .. "$"
  for c = 0, 255 do members[c] = c_find(char(c), pattern) ~= nil end
  CLASS[byte(letter)] = members
end

-- the matcher ------------------------------------------------------------------------
-- A match state: s (subject), n (#s), p (pattern), pn (#p), level (open captures),
-- cstart/clen (capture start positions and lengths), depth (nested calls left).
-- Positions are 1-based; "s position i" is the i-th character, n + 1 the end.

local function class_end(ms, pi)
  local p, pn = ms.p, ms.pn
  local c = byte(p, pi)
  pi = pi + 1
  if c == ESC then
    if pi > pn then fail("malformed pattern (ends with '%')") end
    return pi + 1
  elseif c == LBRACKET then
    if byte(p, pi) == CARET then pi = pi + 1 end
    repeat -- look for a ']'
      if pi > pn then fail("malformed pattern (missing ']')") end
      local cc = byte(p, pi)
      pi = pi + 1
      if cc == ESC and pi <= pn then pi = pi + 1 end -- skip escapes (e.g. '%]')
    until byte(p, pi) == RBRACKET
    return pi + 1
  end
  return pi
end

local function match_class(c, cl)
  local members = CLASS[cl]
  if members then return members[c] end
  return cl == c
end

-- does byte c match the set [...] from pi (the '[') to ec (its ']')?
local function match_bracket(ms, c, pi, ec)
  local p = ms.p
  local sig = true
  if byte(p, pi + 1) == CARET then
    sig = false
    pi = pi + 1
  end
  pi = pi + 1
  while pi < ec do
    local pc = byte(p, pi)
    if pc == ESC then
      pi = pi + 1
      if match_class(c, byte(p, pi)) then return sig end
    elseif byte(p, pi + 1) == MINUS and pi + 2 < ec then
      if pc <= c and c <= byte(p, pi + 2) then return sig end
      pi = pi + 2
    elseif pc == c then
      return sig
    end
    pi = pi + 1
  end
  return not sig
end

local function single_match(ms, si, pi, ep)
  if si > ms.n then return false end
  local c = byte(ms.s, si)
  local pc = byte(ms.p, pi)
  if pc == DOT then return true end
  if pc == ESC then return match_class(c, byte(ms.p, pi + 1)) end
  if pc == LBRACKET then return match_bracket(ms, c, pi, ep - 1) end
  return pc == c
end

local do_match

local function max_expand(ms, si, pi, ep)
  local i = 0
  while single_match(ms, si + i, pi, ep) do i = i + 1 end
  while i >= 0 do -- try the rest with the most repetitions first
    local res = do_match(ms, si + i, ep + 1)
    if res then return res end
    i = i - 1
  end
  return nil
end

local function min_expand(ms, si, pi, ep)
  while true do
    local res = do_match(ms, si, ep + 1)
    if res then return res end
    if single_match(ms, si, pi, ep) then si = si + 1 else return nil end
  end
end

local function start_capture(ms, si, pi, what)
  local level = ms.level + 1
  if level > MAXCAPTURES then fail("too many captures") end
  ms.cstart[level], ms.clen[level] = si, what
  ms.level = level
  local res = do_match(ms, si, pi)
  if not res then ms.level = ms.level - 1 end -- undo the capture
  return res
end

local function end_capture(ms, si, pi)
  local l = ms.level
  while l >= 1 and ms.clen[l] ~= CAP_UNFINISHED do l = l - 1 end
  if l < 1 then fail("invalid pattern capture") end
  ms.clen[l] = si - ms.cstart[l]
  local res = do_match(ms, si, pi)
  if not res then ms.clen[l] = CAP_UNFINISHED end
  return res
end

local function check_capture(ms, c)
  local l = c - 48 -- '1' is capture 1
  if l < 1 or l > ms.level or ms.clen[l] == CAP_UNFINISHED then
    fail(str_format(MSG.capture_index, l))
  end
  return l
end

local function match_capture(ms, si, c)
  local l = check_capture(ms, c)
  local len = ms.clen[l]
  local start = ms.cstart[l]
  if len >= 0 and ms.n - si + 1 >= len and sub(ms.s, start, start + len - 1) == sub(ms.s, si, si + len - 1) then
    return si + len
  end
  return nil
end

local function match_balance(ms, si, pi)
  if pi >= ms.pn then fail(MSG.balance) end
  local s = ms.s
  if si > ms.n or byte(s, si) ~= byte(ms.p, pi) then return nil end
  local b, e, cont = byte(ms.p, pi), byte(ms.p, pi + 1), 1
  si = si + 1
  while si <= ms.n do
    local c = byte(s, si)
    if c == e then
      cont = cont - 1
      if cont == 0 then return si + 1 end
    elseif c == b then
      cont = cont + 1
    end
    si = si + 1
  end
  return nil
end

-- the position after the match of p[pi..] at s[si..], or nil
do_match = function(ms, si, pi)
  ms.depth = ms.depth - 1
  if ms.depth < 0 then fail("pattern too complex") end
  local p, pn = ms.p, ms.pn
  while pi <= pn do
    local pc = byte(p, pi)
    local continue = false
    if pc == LPAREN then
      if byte(p, pi + 1) == RPAREN then
        si = start_capture(ms, si, pi + 2, CAP_POSITION)
      else
        si = start_capture(ms, si, pi + 1, CAP_UNFINISHED)
      end
    elseif pc == RPAREN then
      si = end_capture(ms, si, pi + 1)
    elseif pc == DOLLAR and pi == pn then
      if si ~= ms.n + 1 then si = nil end
    elseif pc == ESC and byte(p, pi + 1) == 98 then -- %b
      si = match_balance(ms, si, pi + 2)
      if si then pi, continue = pi + 4, true end
    elseif pc == ESC and byte(p, pi + 1) == 102 then -- %f
      pi = pi + 2
      if byte(p, pi) ~= LBRACKET then fail("missing '[' after '%f' in pattern") end
      local ep = class_end(ms, pi)
      local previous = si == 1 and 0 or byte(ms.s, si - 1)
      local current = si <= ms.n and byte(ms.s, si) or 0
      if not match_bracket(ms, previous, pi, ep - 1) and match_bracket(ms, current, pi, ep - 1) then
        pi, continue = ep, true
      else
        si = nil
      end
    elseif pc == ESC and (byte(p, pi + 1) or 0) >= 48 and byte(p, pi + 1) <= 57 then -- %0-%9
      si = match_capture(ms, si, byte(p, pi + 1))
      if si then pi, continue = pi + 2, true end
    else -- a single character class, with an optional suffix
      local ep = class_end(ms, pi)
      local suffix = byte(p, ep)
      if not single_match(ms, si, pi, ep) then
        if suffix == STAR or suffix == QUESTION or suffix == MINUS then -- accept empty
          pi, continue = ep + 1, true
        else
          si = nil
        end
      elseif suffix == QUESTION then
        local res = do_match(ms, si + 1, ep + 1)
        if res then si = res else pi, continue = ep + 1, true end
      elseif suffix == PLUS then
        si = max_expand(ms, si + 1, pi, ep)
      elseif suffix == STAR then
        si = max_expand(ms, si, pi, ep)
      elseif suffix == MINUS then
        si = min_expand(ms, si, pi, ep)
      else
        si, pi, continue = si + 1, ep, true
      end
    end
    if not continue then break end
  end
  ms.depth = ms.depth + 1
  return si
end

local function new_state(s, p)
  return { s = s, n = #s, p = p, pn = #p, level = 0, cstart = {}, clen = {}, depth = MAXDEPTH }
end

local function reset(ms)
  ms.level, ms.depth = 0, MAXDEPTH
end

-- capture i (1-based) of a match from si to e (exclusive), as a value
local function capture(ms, i, si, e)
  if i > ms.level then
    if i ~= 1 then fail(str_format(MSG.capture_index, i)) end
    return sub(ms.s, si, e - 1)
  end
  local len = ms.clen[i]
  if len == CAP_UNFINISHED then fail("unfinished capture") end
  local start = ms.cstart[i]
  if len == CAP_POSITION then return start end
  return sub(ms.s, start, start + len - 1)
end

local function captures(ms, si, e, whole)
  local n = ms.level
  if n == 0 then
    if whole then return sub(ms.s, si, e - 1) end
    return
  end
  local out = {}
  for i = 1, n do out[i] = capture(ms, i, si, e) end
  return unpack(out, 1, n)
end

-- arguments --------------------------------------------------------------------------

-- the integer a C string function makes of an optional integer argument, or nil
-- when it would raise an error instead
local function integer_arg(v)
  if rawtype(v) == "string" then v = tonumber(v) end
  if rawtype(v) ~= "number" then return nil end
  if LUA51 then -- LuaJIT: a cast to int32 (x86 gives INT_MIN for NaN and out of range)
    if v ~= v or v >= 2 ^ 31 or v < -2 ^ 31 then return -2 ^ 31 end
    return v >= 0 and floor(v) or -floor(-v)
  end
  if v ~= floor(v) or v >= 2 ^ 63 or v < -2 ^ 63 then return nil end
  return v
end

-- the start position of a search from integer `init` in a subject of length n;
-- false when the search cannot find anything (5.4: a start past the end)
local function start_at(init, n)
  if LUA51 then
    if init < 0 then init = n + init + 1 end
    if init < 1 then init = 1 elseif init > n + 1 then init = n + 1 end
    return init
  end
  if init > 0 then
    if init > n + 1 then return false end
    return init
  end
  if init == 0 or init < -n then return 1 end
  return n + init + 1
end

local function without_anchor(p)
  if byte(p, 1) == CARET then return sub(p, 2), true end
  return p, false
end

-- Lua 5.1 ends a pattern at its first zero byte
local function pattern_text(p)
  if LUA51 then
    local zero = c_find(p, "\0", 1, true)
    if zero then return sub(p, 1, zero - 1) end
  end
  return p
end

-- the Lua versions ----------------------------------------------------------------------

local function find_from(s, p, si, find)
  local n = #s
  local anchor
  p, anchor = without_anchor(pattern_text(p))
  local ms = new_state(s, p)
  repeat
    reset(ms)
    local e = do_match(ms, si, 1)
    if e then
      if find then return si, e - 1, captures(ms, si, e, false) end
      return captures(ms, si, e, true)
    end
    si = si + 1
  until si > n + 1 or anchor
  return nil
end

-- gmatch from position si (n + 2: nothing left)
local function lua_gmatch(s, p, si)
  local n = #s
  local ms = new_state(s, pattern_text(p))
  local lastmatch = nil
  local function step()
    while si <= n + 1 do
      reset(ms)
      local start = si
      local e = do_match(ms, si, 1)
      if e and (LUA51 or e ~= lastmatch) then
        if LUA51 then si = e == start and e + 1 or e else si, lastmatch = e, e end
        return captures(ms, start, e, true)
      end
      si = si + 1
    end
    return nil
  end
  return function() return reraise(pcall(step)) end
end

local function add_string(ms, out, k, repl, si, e)
  local i, rn = 1, #repl
  while i <= rn do
    local c = byte(repl, i)
    if c ~= ESC then
      local next_esc = c_find(repl, "%", i, true) or rn + 1
      k = k + 1
      out[k] = sub(repl, i, next_esc - 1)
      i = next_esc
    else
      i = i + 1
      local d = byte(repl, i)
      k = k + 1
      if d == ESC then
        out[k] = "%"
      elseif d == 48 then -- %0
        out[k] = sub(ms.s, si, e - 1)
      elseif d and d >= 49 and d <= 57 then
        out[k] = tostring(capture(ms, d - 48, si, e))
      elseif LUA51 then
        out[k] = d and char(d) or "\0"
      else
        fail("invalid use of '%' in replacement string")
      end
      i = i + 1
    end
  end
  return k
end

-- add what a match from si to e becomes to out[k + 1 ...]; returns the new k
local function add_value(ms, out, k, repl, kind, si, e)
  local value
  if kind == "function" then
    value = repl(captures(ms, si, e, true))
  elseif kind == "table" then
    value = repl[capture(ms, 1, si, e)]
  else
    return add_string(ms, out, k, tostring(repl), si, e)
  end
  k = k + 1
  if not value then
    out[k] = sub(ms.s, si, e - 1) -- nil or false: the text stays
    return k
  end
  local vt = rawtype(value)
  if vt ~= "string" and vt ~= "number" then fail("invalid replacement value (a " .. vt .. ")") end
  out[k] = tostring(value)
  return k
end

local function gsub_all(s, p, repl, max_n)
  local kind = rawtype(repl)
  local n = #s
  max_n = max_n or n + 1
  local anchor
  p, anchor = without_anchor(pattern_text(p))
  local ms = new_state(s, p)
  local out, k, count, si, lastmatch = {}, 0, 0, 1, nil
  while count < max_n do
    reset(ms)
    local e = do_match(ms, si, 1)
    local took = false
    if e and (LUA51 or e ~= lastmatch) then
      count = count + 1
      k = add_value(ms, out, k, repl, kind, si, e)
      took = true
    end
    if took and (not LUA51 or e > si) then
      si, lastmatch = e, e
    elseif si <= n then
      k = k + 1
      out[k] = sub(s, si, si)
      si = si + 1
    else
      break
    end
    if anchor then break end
  end
  k = k + 1
  out[k] = sub(s, si)
  return concat(out, "", 1, k), count
end

-- find (find true) or match from position si (see start_at), in Lua
local function lua_find(s, p, si, find) return reraise(pcall(find_from, s, p, si, find)) end

-- gsub in Lua (max_n: an integer or nil)
local function lua_gsub(s, p, repl, max_n) return reraise(pcall(gsub_all, s, p, repl, max_n)) end

-- cost estimates ----------------------------------------------------------------------

local function factorial(q)
  local f = 1
  for i = 2, q do f = f * i end
  return f
end

-- (items, repeating items, optional items, anchored, safe) of a pattern, or nil when
-- it has no special characters. safe: well formed, and no error can come out of a
-- match (balanced captures, at most 32 of them, no back-references, not so many
-- nested items that it could be "too complex")
local function shape(p)
  p = pattern_text(p)
  if not c_find(p, "[%^%$%*%+%?%.%(%[%%%-]") then return nil end
  local anchored = byte(p, 1) == CARET
  local pi, pn = anchored and 2 or 1, #p
  local items, q, r, open, captures, nested, safe = 0, 0, 0, 0, 0, 0, true
  local ms = { p = p, pn = pn }
  while pi <= pn do
    local c, d = byte(p, pi), byte(p, pi + 1)
    if c == LPAREN then
      open, captures, nested, pi = open + 1, captures + 1, nested + 1, pi + 1
    elseif c == RPAREN then
      open, nested, pi = open - 1, nested + 1, pi + 1
      if open < 0 then safe = false end
    elseif c == DOLLAR and pi == pn then
      pi = pi + 1
    elseif c == ESC and d == 98 then -- %bxy scans
      if pi + 3 > pn then return items, q, r, anchored, false end
      items, q, pi = items + 1, q + 1, pi + 4
    elseif c == ESC and d == 102 then -- %f[set]
      local ok, ep = pcall(class_end, ms, pi + 2)
      if not ok or byte(p, pi + 2) ~= LBRACKET then return items, q, r, anchored, false end
      items, pi = items + 1, ep
    elseif c == ESC and d and d >= 48 and d <= 57 then -- a back-reference scans
      items, q, pi, safe = items + 1, q + 1, pi + 2, false
    else
      local ok, ep = pcall(class_end, ms, pi)
      if not ok then return items, q, r, anchored, false end
      local suffix = byte(p, ep)
      items = items + 1
      if suffix == STAR or suffix == PLUS or suffix == MINUS or suffix == QUESTION then
        ep, nested = ep + 1, nested + 1
        -- a repetition with nothing but captures after it never backtracks: its first
        -- expansion ends the match (s:gsub("%s+", " ") is linear)
        if not c_find(p, "^[()]*$", ep) then
          if suffix == QUESTION then r = r + 1 else q = q + 1 end
        end
      end
      pi = ep
    end
  end
  return items, q, r, anchored, safe and open == 0 and captures <= MAXCAPTURES and nested < MAXDEPTH - 10
end

-- per pattern: the longest subject (from the start position) the C matcher may take
-- (bounds), and the same for a direct call (fast: -1 for a pattern that is not safe,
-- whose errors must be re-raised at the script's line)
local fast, bounds, cached = {}, {}, 0

local function limit(p)
  if rawtype(p) ~= "string" then return -1 end -- the C function converts or refuses it: checked
  local items, q, r, anchored, safe = shape(p)
  local bound = HUGE
  local power = items and (anchored and q or q + 1) or 0
  if power > 0 then
    local base = items * 2 ^ (r > 60 and 60 or r) / factorial(power)
    bound = floor((C_STEPS / base) ^ (1 / power))
  end
  if cached >= 1000 then fast, bounds, cached = {}, {}, 0 end
  local most = (safe == false) and -1 or bound
  fast[p], bounds[p], cached = most, bound, cached + 1
  return most
end

-- the library ----------------------------------------------------------------------
-- The usual call (a string, a safe pattern, a subject short enough) goes straight to
-- C for the cost of a table lookup and a length. Everything else is checked: a long
-- subject goes to the Lua matcher, and errors of the C function are re-raised at
-- the script's line (under Lua 5.4 they would otherwise name this file).

local MEMORY_MSG = "not enough memory"

-- the results of a pcall of C function `name`; its error raised at the caller's caller
local function reraise_c(name, ok, ...)
  if ok then return ... end
  local e = ...
  if rawtype(e) ~= "string" or e == MEMORY_MSG then error(e, 0) end
  error((c_gsub(e, "^(bad argument #%d+ to )'[^']*'", "%1'" .. name .. "'")), 2)
end

-- the start position in `s` when it is a string too long for pattern `p` in C, else nil
local function long_subject(s, p, init)
  if rawtype(s) ~= "string" or rawtype(p) ~= "string" then return nil end
  local start = 1
  if init ~= nil then
    local i = integer_arg(init)
    start = i and start_at(i, #s)
    if not start then return nil end
  end
  if #s - start + 1 <= bounds[p] then return nil end
  return start
end

local function find_checked(s, p, init, plain)
  local start = not plain and long_subject(s, p, init)
  if start then return lua_find(s, p, start, true) end
  return reraise_c("find", pcall(c_find, s, p, init, plain))
end

local function find(s, p, init, plain)
  local most = fast[p] or limit(p)
  if rawtype(s) == "string" and (init == nil or rawtype(init) == "number")
    and (#s <= most or plain and rawtype(p) == "string") then
    return c_find(s, p, init, plain)
  end
  return find_checked(s, p, init, plain)
end

local function match_checked(s, p, init)
  local start = long_subject(s, p, init)
  if start then return lua_find(s, p, start, false) end
  return reraise_c("match", pcall(c_match, s, p, init))
end

local function match(s, p, init)
  local most = fast[p] or limit(p)
  if rawtype(s) == "string" and (init == nil or rawtype(init) == "number") and #s <= most then
    return c_match(s, p, init)
  end
  return match_checked(s, p, init)
end

local function gmatch(s, p, ...)
  local most, init = fast[p] or limit(p), ...
  if rawtype(s) == "string" and (init == nil or rawtype(init) == "number") and #s <= most then
    return c_gmatch(s, p, ...)
  end
  local start = long_subject(s, p, (not LUA51) and init or nil) -- 5.1 has no init
  if start then return lua_gmatch(s, p, start) end
  return reraise_c("gmatch", pcall(c_gmatch, s, p, ...))
end

local function gsub_checked(s, p, repl, kind, ...)
  local max_n = ...
  if max_n ~= nil then max_n = integer_arg(max_n) end
  if (max_n ~= nil or ... == nil) and (kind == "string" or kind == "number" or kind == "table" or kind == "function") then
    local start = long_subject(s, p, nil)
    if start then return lua_gsub(s, p, repl, max_n) end
  end
  -- a replacement function's own errors already name its line: those calls are not wrapped
  if kind == "function" or kind == "table" then return c_gsub(s, p, repl, ...) end
  return reraise_c("gsub", pcall(c_gsub, s, p, repl, ...))
end

local function gsub(s, p, repl, ...)
  local most, kind, max_n = fast[p] or limit(p), rawtype(repl), ...
  if rawtype(s) == "string" and #s <= most and (max_n == nil or rawtype(max_n) == "number")
    and (kind == "function" or kind == "table" or kind == "number" or (kind == "string" and not c_find(repl, "%", 1, true)))
  then
    return c_gsub(s, p, repl, ...)
  end
  return gsub_checked(s, p, repl, kind, ...)
end

return { find = find, match = match, gmatch = gmatch, gsub = gsub, lua_find = lua_find, lua_gmatch = lua_gmatch,
         lua_gsub = lua_gsub }
