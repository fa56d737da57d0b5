-- MLE sandbox: builds the private environment each script runs in.
--
-- A script sees copies of the safe standard libraries, the Dragonfly API
-- (dragonfly, hiredis, cjson, cjson_safe, marshal), the mle helpers, a
-- `require` that resolves only inside the root's script folders and the
-- engine's Lua library, and a read-only io.open that works during setup.
-- It cannot reach Python objects other than event data, the file system,
-- the process, bytecode, debug, or the kernel's state, and no pattern match it
-- starts can run longer than its instruction budget allows.

local K, H, COMPAT, PATTERNS = ...

local rawtype, rawget, rawset, rawequal, rawlen = type, rawget, rawset, rawequal, rawlen
local pcall, xpcall, error, select, tostring, tonumber = pcall, xpcall, error, select, tostring, tonumber
local setmetatable, getmetatable, next, pairs, ipairs = setmetatable, getmetatable, next, pairs, ipairs
local co_create, co_resume, co_yield, co_running = coroutine.create, coroutine.resume, coroutine.yield, coroutine.running
local co_status, co_isyieldable, co_close = coroutine.status, coroutine.isyieldable, coroutine.close
local sethook, dgetmetatable = debug.sethook, debug.getmetatable
local concat, str_format, str_byte = table.concat, string.format, string.byte
local unpack = table.unpack or unpack
local LUA51 = _VERSION == "Lua 5.1"
local setfenv = setfenv

local POBJ_MT = K.POBJ_MT
local YIELD_MARK = K.YIELD_MARK
local kernel_threads = K.kernel_threads
local budget_exceeded, budget_error, budget_hook, HOOK_COUNT =
  K.budget_exceeded, K.budget_error, K.budget_hook, K.HOOK_COUNT
local is_fatal, charge, sync_wait = K.is_fatal, K.charge, K.sync_wait
local LUAJIT = K.LUAJIT

-- No bytecode anywhere, and the string metatable every script shares is read-only.
string.dump = nil
dgetmetatable("").__metatable = "string"

-- Pattern matching whose work the instruction budget counts when it could be large
-- (patterns.lua), for library calls and method calls (s:find) alike.
for _, name in ipairs({ "find", "match", "gmatch", "gsub" }) do string[name] = PATTERNS[name] end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- base functions -----------------------------------------------------------------

local function safe_type(v)
  local t = rawtype(v)
  if t == "userdata" and dgetmetatable(v) == POBJ_MT then return "table" end
  return t
end

-- pcall and xpcall cannot catch running out of budget or memory: re-raised
local function check(ok, ...)
  if budget_exceeded() then budget_error() end
  if not ok and is_fatal((...)) then error((...), 0) end
  return ok, ...
end

local function safe_pcall(f, ...) return check(pcall(f, ...)) end

-- Lua runs a message handler with hooks off for an error raised by the count hook,
-- and again after the handler itself fails: once the budget is spent, the
-- script's handler is not run at all.
local function safe_xpcall(f, handler, ...)
  local function guarded(e)
    if budget_exceeded() or is_fatal(e) then return e end
    return handler(e)
  end
  return check(xpcall(f, guarded, ...))
end

local function safe_setmetatable(t, mt)
  if rawtype(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in MLE scripts", 2)
  end
  return setmetatable(t, mt)
end

local function safe_collectgarbage(opt)
  if opt == "count" then return collectgarbage("count") end
  return 0
end

-- coroutines: every coroutine gets the budget hook; Redis waits pass through a
-- script's own coroutines up to the scheduler; engine coroutines are off limits.
-- Lua 5.4 hooks are per coroutine: every new one gets the budget hook. LuaJIT's
-- hook is global (setting it per coroutine would reset its counter).
local function safe_create(f)
  local co = co_create(f)
  if K.BUDGETED and not LUAJIT then sethook(co, budget_hook, "", HOOK_COUNT) end
  return co
end

-- coroutines stopped by the budget or memory: closing them would run their
-- <close> handlers with hooks off, so they cannot be closed
local stopped = setmetatable({}, { __mode = "k" })

local function passthrough(co, ok, a, ...)
  if budget_exceeded() then
    stopped[co] = true
    budget_error()
  end
  if ok and rawequal(a, YIELD_MARK) then
    -- a Redis wait inside this coroutine: hand it up to the scheduler, or, where the
    -- engine's coroutine cannot yield (resumed from a C function), wait right here
    if co_isyieldable() then
      return passthrough(co, co_resume(co, co_yield(YIELD_MARK)))
    end
    return passthrough(co, co_resume(co, sync_wait()))
  end
  if not ok and is_fatal(a) then
    stopped[co] = true
    error(a, 0)
  end
  return ok, a, ...
end

local function own(co)
  if rawtype(co) ~= "thread" then error("coroutine expected", 3) end
  if kernel_threads[co] then error("cannot use an engine coroutine", 3) end
  return co
end

local function safe_resume(co, ...)
  own(co)
  charge(1) -- a coroutine shorter than HOOK_COUNT instructions never ticks on its own
  return passthrough(co, co_resume(co, ...))
end

local function wrap_results(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

local function safe_wrap(f)
  local co = safe_create(f)
  return function(...)
    charge(1)
    return wrap_results(passthrough(co, co_resume(co, ...)))
  end
end

local function safe_close(co)
  own(co)
  if stopped[co] then return false, "this coroutine was stopped by the instruction budget" end
  return co_close(co)
end

local function in_engine_thread()
  local co = co_running()
  return co == nil or kernel_threads[co] or select(2, co_running()) == true
end

local function safe_yield(...)
  if in_engine_thread() then error("attempt to yield from outside a coroutine", 2) end
  return co_yield(...)
end

local function safe_running()
  if in_engine_thread() then return nil, true end
  return co_running()
end

local coroutine_lib = {
  create = safe_create,
  resume = safe_resume,
  wrap = safe_wrap,
  yield = safe_yield,
  running = safe_running,
  status = function(co) return co_status(own(co)) end,
  isyieldable = function() return not in_engine_thread() and co_isyieldable() end,
  close = co_close and safe_close or nil,
}

-- load: text chunks only, in the script's environment by default
local function make_load(env)
  return function(chunk, name, mode, chunk_env)
    if rawtype(chunk) == "function" then
      local parts, n = {}, 0
      while true do
        local piece = chunk()
        if piece == nil or piece == "" then break end
        if rawtype(piece) ~= "string" then return nil, "reader function must return a string" end
        n = n + 1
        parts[n] = piece
      end
      chunk = concat(parts)
    end
    if rawtype(chunk) ~= "string" then return nil, "load: chunk must be a string" end
    if str_byte(chunk, 1) == 27 then return nil, "load: binary chunks are not allowed" end
    if mode ~= nil and mode ~= "t" and mode ~= "bt" then return nil, "load: binary chunks are not allowed" end
    name = rawtype(name) == "string" and name or "=(load)"
    if LUA51 then
      local f, err = loadstring(chunk, name)
      if not f then return nil, err end
      setfenv(f, chunk_env or env)
      return f
    end
    return load(chunk, name, "t", chunk_env or env)
  end
end

-- io.open / io.lines: read-only, root script folders, during load and setup
local function file_object(content)
  local pos = 1
  local f = {}
  local function read_one(fmt)
    if rawtype(fmt) == "number" then
      if pos > #content then return nil end
      local s = content:sub(pos, pos + fmt - 1)
      pos = pos + #s
      return s
    end
    fmt = rawtype(fmt) == "string" and fmt:gsub("^%*", "") or "l"
    local c = fmt:sub(1, 1)
    if c == "a" then
      local s = content:sub(pos)
      pos = #content + 1
      return s
    elseif c == "l" or c == "L" then
      if pos > #content then return nil end
      local e = content:find("\n", pos, true)
      local line
      if e then
        line = content:sub(pos, c == "L" and e or e - 1)
        pos = e + 1
      else
        line = content:sub(pos)
        pos = #content + 1
      end
      return line
    elseif c == "n" then
      local s, e = content:find("^%s*[-+]?%d*%.?%d+[eE]?[-+]?%d*", pos)
      if not s then return nil end
      pos = e + 1
      return tonumber(content:sub(s, e))
    end
    error("bad read format " .. tostring(fmt), 3)
  end
  function f:read(...)
    local n = select("#", ...)
    if n == 0 then return read_one("l") end
    local out = {}
    for i = 1, n do out[i] = read_one((select(i, ...))) end
    return unpack(out, 1, n)
  end
  function f:lines(fmt)
    return function() return read_one(fmt or "l") end
  end
  function f:seek(whence, offset)
    whence, offset = whence or "cur", offset or 0
    if whence == "set" then pos = offset + 1
    elseif whence == "end" then pos = #content + offset + 1
    else pos = pos + offset end
    return pos - 1
  end
  function f:close() return true end
  function f:write() return nil, "file is read-only" end
  return f
end

local function make_io(S)
  local function open(path, mode)
    if rawtype(path) ~= "string" then return nil, "io.open: path must be a string" end
    if mode ~= nil and mode ~= "r" and mode ~= "rb" then
      return nil, path .. ": files can only be opened for reading"
    end
    if not S.in_setup then
      return nil, path .. ": io.open is only available while a script loads and in setup()"
    end
    local ok, content = pcall(H.read_file, S.id, path)
    if not ok then return nil, tostring(content) end
    return file_object(content)
  end
  local function lines(path, fmt)
    local f, err = open(path)
    if not f then error(err, 2) end
    return f:lines(fmt)
  end
  local function write(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    K.log("info", concat(parts))
    return true
  end
  return { open = open, lines = lines, write = write }
end

-- JSON (cjson / cjson_safe) and marshal (opaque strings, JSON inside) -------------

local json_encode, json_decode = H.json_encode, H.json_decode
local JSON_NULL = H.json_null

local function make_cjson(safe)
  local function guard(f)
    if not safe then
      return function(v)
        local ok, r = pcall(f, v)
        if not ok then error(tostring(r), 2) end
        return r
      end
    end
    return function(v)
      local ok, r = pcall(f, v)
      if not ok then return nil, tostring(r) end
      return r
    end
  end
  local noop = function() end
  return {
    encode = guard(json_encode),
    decode = guard(json_decode),
    null = JSON_NULL,
    new = function() return make_cjson(safe) end,
    encode_sparse_array = noop, encode_max_depth = noop, decode_max_depth = noop,
    encode_number_precision = noop, encode_keep_buffer = noop, encode_invalid_numbers = noop,
    decode_invalid_numbers = noop, encode_empty_table_as_object = noop,
    _NAME = safe and "cjson.safe" or "cjson", _VERSION = "2.1.0 (MLE)",
  }
end

local function make_marshal() return { encode = json_encode, decode = json_decode } end

-- hiredis (lua-hiredis as Dragonfly shipped it) -----------------------------------

local REPLY = { STRING = 1, ARRAY = 2, INTEGER = 3, NIL = 4, STATUS = 5, ERROR = 6 }

local function make_hiredis()
  local const_mt = {
    __tostring = function(t) return rawget(t, "name") end,
    __metatable = "lua-hiredis.const",
  }
  local function const(kind, name)
    return setmetatable({ name = name, type = REPLY[kind] }, const_mt)
  end
  local statuses = {}
  local status = setmetatable({}, {
    __index = function(_, name)
      local s = statuses[name]
      if s == nil and rawtype(name) == "string" then
        s = const("STATUS", name)
        statuses[name] = s
      end
      return s
    end,
    __newindex = function() error("hiredis.status is read-only", 2) end,
    __metatable = false,
  })
  local NIL = const("NIL", "NIL")
  local kcommand, kcommand_line = K.command, K.redis_command_line
  local conn_methods = {
    command = function(_, ...) return kcommand(select("#", ...), ...) end,
    command_line = function(_, line) return kcommand_line(line) end,
    close = function() return true end,
    ping = function() return kcommand(1, "PING") end,
  }
  local conn_mt = { __index = conn_methods, __metatable = "lua-hiredis.connection" }
  local lib = {
    NIL = NIL,
    status = status,
    OK = status.OK,
    PONG = status.PONG,
    QUEUED = status.QUEUED,
    ERR_IO = 1, ERR_OTHER = 2, ERR_EOF = 3, ERR_PROTOCOL = 4,
    connect = function()
      if not H.redis_available() then return nil, "no Redis connection available", 1 end
      K.uses_redis()
      return setmetatable({}, conn_mt)
    end,
    unwrap_reply = function(reply)
      if rawtype(reply) == "table" and getmetatable(reply) == "lua-hiredis.const" then
        if reply.type == REPLY.ERROR then return nil, reply.name end
        if reply.type == REPLY.STATUS then return reply.name, REPLY.STATUS end
      end
      return reply
    end,
    _VERSION = "lua-hiredis 0.2.1 (MLE)",
  }
  for kind, code in pairs(REPLY) do lib["REPLY_" .. kind] = code end
  local function make_error(text) return const("ERROR", text) end
  return lib, statuses, NIL, make_error
end

-- dragonfly.* ------------------------------------------------------------------------

-- "YYYY-MM-DDTHH:MM:SS[.frac][Z|+hhmm|+hh:mm]" -> epoch seconds (UTC unless an
-- offset is given; Dragonfly used the host's local time, which is UTC on sensors)
local floor = math.floor
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = floor((y >= 0 and y or y - 399) / 400)
  local yoe = y - era * 400
  local doy = floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function date2epoch(s)
  if rawtype(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  local epoch = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400
    + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
  local sign, oh, om = rest:match("([+-])(%d%d):?(%d%d)$")
  if sign then
    local offset = tonumber(oh) * 3600 + tonumber(om) * 60
    epoch = sign == "+" and epoch - offset or epoch + offset
  end
  return epoch
end

local function make_dragonfly(S)
  local function network(name, f)
    return function(...)
      if not S.allow_network then
        error(str_format("dragonfly.%s is disabled; set allow_network = true on this script's config entry", name), 2)
      end
      return f(...)
    end
  end
  return {
    analyze_event = K.analyze_event,
    output_event = K.output_event,
    forward_event = K.output_event,
    log_event = K.log_event,
    stats_event = K.stats_event,
    timer_event = K.timer_event,
    date2epoch = date2epoch,
    echo = function(...) return K.log("info", concat({ ... }, " ")) end,
    http_get = network("http_get", function(url, file) return H.http_get(S.id, url, file) end),
    dnslookup = network("dnslookup", function(host) return H.dnslookup(host) end),
  }
end

-- mle.*: one call to add a score or a finding, the same shape for every analyzer --
-- Events that are records (Python dicts) are annotated on the Python side in one
-- call; a table a script built itself is annotated here, in the same shape.

local h_annotate = H.annotate
local k_found = K.found

local function annotation(msg)
  local a = msg.mle
  if a == nil then a = {}; msg.mle = a end
  return a
end

local function clamp(score)
  if rawtype(score) ~= "number" or score ~= score then error("mle: score must be a number", 3) end
  if score < 0 then return 0.0 end
  if score > 1 then return 1.0 end
  return score + 0.0
end

local function annotate_table(msg, tag, score, reason, set_priority)
  score = clamp(score)
  local a = annotation(msg)
  local scores = a.scores
  if scores == nil then scores = {}; a.scores = scores end
  scores[tag] = score
  if reason ~= nil then
    if rawtype(reason) ~= "string" then error("mle.finding: reason must be a string", 3) end
    local findings = a.findings
    if findings == nil then findings = {}; a.findings = findings end
    findings[#findings + 1] = { analyzer = tag, score = score, reason = reason }
    local priority = a.priority
    if priority == nil or priority < score then a.priority = score end
  end
  if set_priority then a.priority = score end
  return score
end

-- mle.settings{ name = default, ... }: the analyzer's parameters, its defaults overridden
-- by the `settings` table of its config.lua entry; a name the analyzer does not know is
-- an error naming it (a typo in config.lua must not pass silently)
local function make_settings(S)
  return function(defaults)
    if rawtype(defaults) ~= "table" then error("mle.settings expects a table of defaults", 2) end
    local out = {}
    for k, v in pairs(defaults) do out[k] = v end
    local given = S.settings
    if given then
      for k, v in pairs(given) do
        if defaults[k] == nil then
          local known = {}
          for name in pairs(defaults) do known[#known + 1] = tostring(name) end
          table.sort(known)
          error(str_format("settings: %q is not a setting of %s (it has: %s)", tostring(k), S.tag,
            concat(known, ", ")), 2)
        end
        if rawtype(v) ~= rawtype(defaults[k]) then
          error(str_format("settings: %s must be a %s like its default, not a %s", tostring(k),
            rawtype(defaults[k]), rawtype(v)), 2)
        end
        out[k] = v
      end
    end
    return out
  end
end

local HOME_NET = {}
for i = 1, #(H.home_net or {}) do HOME_NET[i] = H.home_net[i] end

-- mle.features(msg, {name = value, ...}): what an analyzer computed for an event, kept under
-- mle.features.<tag> only when the engine records features (mle = { record_features = true },
-- which mle evaluate sets); otherwise a call that does nothing. Guard the building of the
-- table with `if mle.evaluating then` and the hot path pays nothing.
local h_features = H.features or nil
local function no_features() end

local function make_mle(S)
  local tag = S.tag
  local home_net = {}
  for i = 1, #HOME_NET do home_net[i] = HOME_NET[i] end
  local lib = { tag = tag, worker = H.worker_id, route = K.route, fields = K.fields, has_findings = K.has_findings,
                settings = make_settings(S),
                home_net = home_net, evaluating = h_features ~= nil, features = no_features }
  if h_features ~= nil then
    function lib.features(msg, values)
      if rawtype(values) ~= "table" then error("mle.features: the features must be a table {name = value}", 2) end
      if rawtype(msg) == "table" then
        local a = annotation(msg)
        local all = a.features
        if all == nil then all = {}; a.features = all end
        all[tag] = values
        return
      end
      return h_features(msg, tag, values)
    end
  end
  function lib.score(msg, score)
    if rawtype(msg) == "table" then return annotate_table(msg, tag, score) end
    return h_annotate(msg, tag, score)
  end
  function lib.finding(msg, score, reason)
    if rawtype(reason) ~= "string" then error("mle.finding: reason must be a string", 2) end
    if rawtype(msg) == "table" then return annotate_table(msg, tag, score, reason) end
    score = h_annotate(msg, tag, score, reason)
    k_found(msg)
    return score
  end
  -- the event's overall priority, decided by this analyzer (a triage that combines the
  -- others): its score, a finding when there is a reason, and mle.priority = score
  -- instead of the highest finding score
  function lib.set_priority(msg, score, reason)
    if reason ~= nil and rawtype(reason) ~= "string" then error("mle.set_priority: reason must be a string", 2) end
    if rawtype(msg) == "table" then return annotate_table(msg, tag, score, reason, true) end
    score = h_annotate(msg, tag, score, reason, true)
    if reason ~= nil then k_found(msg) end
    return score
  end
  return lib
end

-- the environment --------------------------------------------------------------------

-- os.date(fmt) for "now" changes once a second: scripts that stamp every event
-- with it (Dragonfly's write-to-log does) get the same string back until it does
local os_date, os_time = os.date, os.time
local function make_date()
  local cache, cached = {}, 0
  return function(fmt, t)
    local hit = cache[fmt] -- only string formats without "*t" are ever cached
    if hit and t == nil then
      local now = os_time()
      if hit[1] == now then return hit[2] end
    end
    if t ~= nil or rawtype(fmt) ~= "string" or fmt:find("*t", 1, true) then return os_date(fmt, t) end
    local now = os_time()
    local text = os_date(fmt, now)
    if hit then
      hit[1], hit[2] = now, text
    elseif cached < 64 then
      cache[fmt] = { now, text }
      cached = cached + 1
    end
    return text
  end
end

local function safe_os()
  return {
    time = os.time, date = make_date(), clock = os.clock, difftime = os.difftime,
    exit = function() error("os.exit is not allowed in MLE scripts (the engine keeps running)", 2) end,
    getenv = function() return nil end,
  }
end

local function make_print()
  return function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    K.log("info", concat(parts, "\t"))
  end
end

local function make_require(S, env, builtins)
  local loaded = {}
  return function(name)
    if rawtype(name) ~= "string" then error("require: module name must be a string", 2) end
    local value = loaded[name]
    if value ~= nil then return value end
    value = builtins[name]
    if value == nil then
      local source, chunkname = H.find_module(S.id, name)
      if source == nil then error(chunkname, 2) end
      local chunk, err = make_load(env)(source, chunkname)
      if not chunk then error(err, 2) end
      value = chunk(name)
      if value == nil then value = rawget(env, name) end
      if value == nil then value = true end
    end
    loaded[name] = value
    return value
  end
end

local BASE_NAMES = {
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "rawset",
  "select", "tonumber", "tostring", "getmetatable", "_VERSION",
}

-- Create the environment for script record S (fields: id, tag, kind,
-- default_analyzer, default_output, allow_network). Returns env.
function K.new_env(S)
  local env = {}
  for _, name in ipairs(BASE_NAMES) do env[name] = _G[name] end
  env.type = safe_type
  env.pcall = safe_pcall
  env.xpcall = safe_xpcall
  env.setmetatable = safe_setmetatable
  env.collectgarbage = safe_collectgarbage
  env.print = make_print()
  env.load = make_load(env)
  env.loadstring = env.load
  env.unpack = unpack
  env.string = copy(string)
  env.table = copy(table)
  env.math = copy(math)
  env.utf8 = utf8 and copy(utf8) or nil
  env.os = safe_os()
  env.io = make_io(S)
  env.coroutine = copy(coroutine_lib)
  if COMPAT then COMPAT(env) end
  if bit then env.bit = copy(bit) end

  local hiredis, _, NIL, make_error = make_hiredis()
  S.status, S.NIL, S.make_error = hiredis.status, NIL, make_error
  env.hiredis = hiredis
  env.cjson = make_cjson(false)
  env.cjson_safe = make_cjson(true)
  env.marshal = make_marshal()
  if LUAJIT then -- Lua 5.1 has no __pairs: iterate Python events explicitly
    local py_pairs = K.py_pairs
    env.pairs = function(t)
      if rawtype(t) == "userdata" and dgetmetatable(t) == POBJ_MT then return py_pairs(t) end
      return pairs(t)
    end
    -- nor does its ipairs index userdata: walk a Python list by index until nil
    local function py_inext(t, i)
      i = i + 1
      local v = t[i]
      if v ~= nil then return i, v end
    end
    env.ipairs = function(t)
      if rawtype(t) == "userdata" and dgetmetatable(t) == POBJ_MT then return py_inext, t, 0 end
      return ipairs(t)
    end
  end
  env.dragonfly = make_dragonfly(S)
  if S.allow_network then -- legacy scripts call these as bare globals
    env.http_get, env.dnslookup = env.dragonfly.http_get, env.dragonfly.dnslookup
  end
  env.mle = make_mle(S)
  env._G = env

  local builtins = {
    cjson = env.cjson, ["cjson.safe"] = env.cjson_safe, cjson_safe = env.cjson_safe,
    hiredis = hiredis, marshal = env.marshal, bit = env.bit, mle = env.mle,
    string = env.string, table = env.table, math = env.math, os = env.os, io = env.io,
    coroutine = env.coroutine, utf8 = env.utf8,
  }
  env.require = make_require(S, env, builtins)
  if S.default_analyzer ~= "" then env.default_analyzer = S.default_analyzer end
  if S.default_output ~= "" then env.default_output = S.default_output end
  S.env = env
  return env
end

-- Compile a script's source in its environment. Returns the chunk or nil, err.
function K.compile(S, source, chunkname)
  local chunk, err = make_load(S.env)(source, chunkname)
  return chunk or false, err or ""
end

-- Read the hooks the script defined (after load and again after setup). Input
-- scripts and analyzers need loop(msg); output scripts need format(event).
function K.bind_hooks(S)
  local function hook(name)
    local f = rawget(S.env, name)
    return rawtype(f) == "function" and f or nil
  end
  S.loop, S.setup, S.format, S.feedback = hook("loop"), hook("setup"), hook("format"), hook("feedback")
  if S.kind == "output" then return S.format ~= nil end
  if S.kind == "analyzer" then S.declared, S.declare_error = K.read_declaration(rawget(S.env, "analyzer")) end
  return S.loop ~= nil
end

return K
