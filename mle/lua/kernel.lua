-- MLE kernel: the trusted Lua side of a worker's runtime.
--
-- It holds every loaded script, routes events between them by tag, runs each
-- event's loop() under an instruction budget, and lets a script's Redis call
-- suspend that event (a coroutine) so that the commands of a whole round (the
-- events Python hands over in one run_batch call) go to Redis in one pipelined
-- round trip. Scripts never see this file's globals:
-- each runs in its own environment built by sandbox.lua.
--
-- This file must parse under Lua 5.4 and LuaJIT (no 5.3+ operators).
--
-- Called once with the host table H (Python callables) and a sample Python
-- object (to reach lupa's metatable for Python objects). Returns the kernel
-- table K that Python drives.

local H, POBJ_SAMPLE = ...

local rawtype, rawget, rawset, rawequal, pcall, error = type, rawget, rawset, rawequal, pcall, error
local select, tostring, setmetatable, next = select, tostring, setmetatable, next
local pairs, ipairs = pairs, ipairs
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_isyieldable = coroutine.isyieldable
local sethook, dgetmetatable = debug.sethook, debug.getmetatable
local clock = os.clock
local concat, str_lower, str_format = table.concat, string.lower, string.format
local math_type, math_floor, HUGE = math.type, math.floor, math.huge
local utf8_len = utf8 and utf8.len
local unpack = table.unpack or unpack
local collect = collectgarbage
local LUAJIT = rawtype(jit) == "table"

local h_emit, h_redis, h_log, h_timer = H.emit, H.redis, H.log, H.timer
local h_dead_letter, h_annotate_error = H.dead_letter, H.annotate_error

local K = {}

-- JIT-compiled LuaJIT code never calls the count hook: run interpreted so the
-- instruction budget holds.
if LUAJIT then
  jit.off()
  jit.flush()
end

-- Python objects (events as dicts/lists) ----------------------------------------
-- lupa wraps every Python object in a userdata with one shared metatable. Give
-- it what Lua code expects of a table (#, pairs) and hide it from scripts.
local POBJ_MT = dgetmetatable(POBJ_SAMPLE)
local py_pairs
do
  local iterex, py_items, py_len = H.iterex, H.items, H.len
  py_pairs = function(o) return iterex(py_items(o)) end
  POBJ_MT.__pairs = py_pairs
  POBJ_MT.__len = function(o) return py_len(o) end
  POBJ_MT.__metatable = "python object"
end
K.POBJ_MT = POBJ_MT
K.py_pairs = py_pairs

local function rawcount(t) -- rawlen for LuaJIT too
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  return n
end

-- instruction budget --------------------------------------------------------------
-- A count hook fires every HOOK_COUNT VM instructions; the running call's budget is
-- in hook ticks. Once exceeded, every hook tick raises again and the sandbox's
-- pcall/xpcall/coroutine.resume re-raise, so a script cannot catch its way out.
-- A hook makes every Lua instruction ~2.3x slower (Lua runs each through its hook
-- check), so it is on only while script code runs: around plain calls on the main
-- thread, always on the engine's event coroutines (Lua 5.4: per thread), and
-- around each resume under LuaJIT (whose hook is global).
local HOOK_COUNT = 1000
local BUDGET_MSG = "instruction budget exceeded"
local MEMORY_MSG = "not enough memory"
local ticks, tick_limit, exceeded = 0, HUGE, false

local function budget_hook()
  ticks = ticks + 1
  if ticks > tick_limit then
    exceeded = true
    error(BUDGET_MSG, 0)
  end
end
K.HOOK_COUNT = HOOK_COUNT
K.budget_hook = budget_hook
K.LUAJIT = LUAJIT

function K.budget_exceeded() return exceeded end
function K.budget_error() error(BUDGET_MSG, 0) end

-- true when an error must not be caught by a script (budget or memory exhausted)
function K.is_fatal(err) return exceeded or err == MEMORY_MSG end

-- charge a script for work the count hook does not see (e.g. one tick per resume
-- of a short-lived coroutine)
function K.charge(n)
  ticks = ticks + n
  if ticks > tick_limit then
    exceeded = true
    error(BUDGET_MSG, 0)
  end
end

-- mle = { max_instructions = 0 }: no budget and no hook at all (the multiprocess
-- runtime's watchdog still stops a worker stuck in a script)
local BUDGETED = H.budgeted ~= false
local function hook_on() if BUDGETED then sethook(budget_hook, "", HOOK_COUNT) end end
local function hook_off() if BUDGETED then sethook() end end
K.BUDGETED = BUDGETED

-- scripts and routing ------------------------------------------------------------
local scripts = {}          -- id -> script record S
local analyzers_by_tag = {} -- tag (any case seen) -> S
local outputs_by_tag = {}   -- tag (any case seen) -> output index (1-based, Python side)
local output_scripts = {}   -- output index -> script record whose format() shapes what it receives
local unknown_tags = {}     -- "a:tag" / "o:tag" -> count of events sent there
K.scripts = scripts

local MAX_HOPS = 32            -- analyzers one event may pass through (a routing loop ends here)
-- A routed event goes straight on to the next analyzer on its route, as a nested call
-- instead of a queued item, when that analyzer runs plain (no coroutine, no sequence
-- to wait in), up to MAX_INLINE deep, unless the finished analyzer sent the event on
-- itself (dragonfly.analyze_event to a helper): that queued work runs first, as before.
-- Saves the queue's bookkeeping.
local MAX_INLINE = 8
local inline_depth = 0
local MAX_WORK = 1000000       -- (script, event) items one batch may queue

local function lookup(map, tag)
  local v = map[tag]
  if v == nil and rawtype(tag) == "string" then
    v = map[str_lower(tag)]
    if v ~= nil then map[tag] = v end
  end
  return v
end

-- the context of the call in progress ---------------------------------------------
-- rec = { S = script, m = event, fwd = event passed on?, hops = analyzers so far,
--         ticks = budget used, co = coroutine|nil, ticket = the Redis reply it waits for,
--         origin = the input event it descends from (lanes), adm = admitted by its
--         sequential script, released = its script admitted the next item already }
local plain_rec = { S = nil, m = nil, fwd = false, hops = 0, ticks = 0, co = nil }
local cur = plain_rec
function K.current_script() return cur.S end

-- work queue: (script, event, hops, origin, admitted) items in FIFO order ----------
-- Slots are not cleared while the queue is in use: a Lua table whose front is
-- nil'ed while its back grows rehashes over and over (measured: 5 us per event).
-- Each item writes all six slots; clear_queue() clears them only after a long queue.
local q_s, q_m, q_h, q_o, q_a, q_k, q_head, q_tail = {}, {}, {}, {}, {}, {}, 1, 0
local work = 0

-- Lanes: serial semantics per shard. Every input event of a batch is an origin; each
-- item (script, event) it causes counts against it until that item is finished.
-- The origins of one lane (the same flow, or the configured shard key) run one at a
-- time, in arrival order, whole chain: the next starts when nothing of the previous
-- one is left. Different lanes run side by side and share round trips.
local org_left, org_lane, org_S, org_m = {}, {}, {}, {}
local lane_busy, lane_q = {}, {}

local function enqueue(S, m, hops, o, adm, hook)
  q_tail = q_tail + 1
  q_s[q_tail], q_m[q_tail], q_h[q_tail], q_o[q_tail], q_a[q_tail], q_k[q_tail] = S, m, hops, o, adm, hook
end

local function push(S, m, hops, o)
  if o then org_left[o] = org_left[o] + 1 end
  q_tail = q_tail + 1
  q_s[q_tail], q_m[q_tail], q_h[q_tail], q_o[q_tail], q_a[q_tail], q_k[q_tail] = S, m, hops, o, false, nil
end

local function start_origin(o)
  org_left[o] = 0
  push(org_S[o], org_m[o], 0, o)
end

-- one item of origin o is finished: when it was the last, the lane's next origin starts
local function item_done(o)
  if not o then return end
  local left = org_left[o] - 1
  org_left[o] = left
  if left > 0 then return end
  local key = org_lane[o]
  if key == nil then return end
  local w = lane_q[key]
  if w and w.head <= w.tail then
    local nxt = w[w.head]
    w[w.head] = nil
    w.head = w.head + 1
    start_origin(nxt)
  else
    lane_busy[key] = nil
    if w then lane_q[key] = nil end
  end
end

-- admit origin o (input script S, event m) now, or queue it behind its lane
local function admit_origin(o, S, m, key)
  org_S[o], org_m[o], org_lane[o] = S, m, key
  if key == nil then return start_origin(o) end
  if not lane_busy[key] then
    lane_busy[key] = true
    return start_origin(o)
  end
  local w = lane_q[key]
  if w == nil then
    w = { head = 1, tail = 0 }
    lane_q[key] = w
  end
  w.tail = w.tail + 1
  w[w.tail] = o
end

-- errors ---------------------------------------------------------------------------
local function error_text(err)
  local t = rawtype(err)
  if t == "string" then return err end
  if t == "number" then return tostring(err) end
  if t == "userdata" and dgetmetatable(err) == POBJ_MT then
    local ok, s = pcall(tostring, err) -- Python exceptions raised through lupa
    if ok and rawtype(s) == "string" then return s end
  end
  return "(error object of type " .. t .. ")"
end

-- Add {analyzer, hook, error} to the event's mle.errors without running any script
-- code (raw access only: a failed event may carry hostile metamethods).
local function annotate(m, S, hook, text)
  local t = rawtype(m)
  if t == "userdata" then
    if dgetmetatable(m) == POBJ_MT then pcall(h_annotate_error, m, S.tag, hook, text) end
    return
  elseif t ~= "table" then
    return
  end
  local a = rawget(m, "mle")
  if a == nil then
    a = {}
    rawset(m, "mle", a)
  end
  if rawtype(a) ~= "table" then return end
  local errs = rawget(a, "errors")
  if errs == nil then
    errs = {}
    rawset(a, "errors", errs)
  end
  if rawtype(errs) ~= "table" then return end
  rawset(errs, rawcount(errs) + 1, { analyzer = S.tag, hook = hook, error = text })
end

local emit -- output delivery (with output scripts), defined with the dragonfly API below
local build_routes -- routes of the analyzers that declare event types (below)
local route_on -- an item on a routed event is finished: the event goes on (below)
local ROUTED = false -- some analyzer declared event types (else route_on has nothing to do)
local release_next -- a sequential script's item issued its one command (scheduler, below)

-- returns true when the event went somewhere (counted in the script's n_out)
local function pass_on(S, m, hops, o)
  if m == nil then return false end
  local nxt = S.next_analyzer
  if nxt then
    S.n_out = S.n_out + 1
    push(nxt, m, hops + 1, o)
    return true
  elseif S.next_output then
    S.n_out = S.n_out + 1
    pcall(emit, S.next_output, m)
    return true
  end
  return false
end

-- A quarantined script never runs again: drop its environment so whatever it
-- holds (it may be the one that filled the memory) is released.
local function quarantine(S, text, why)
  S.quarantined = true
  S.loop, S.setup, S.format, S.feedback = nil, nil, nil, nil
  local env = S.env
  if env then
    local k = next(env)
    while k ~= nil do
      rawset(env, k, nil)
      k = next(env)
    end
  end
  collect("collect")
  h_log(S.id, "error", str_format("quarantined %s (last error: %s); fix the script and reload to resume",
    why or str_format("after %d consecutive failures", S.consecutive), text))
end

-- Approximate bytes reachable from a script's environment (only after a memory
-- failure: it walks everything). Tables shared with the engine are not counted.
local MEMORY_CEILING_KB = H.max_memory_kb or 524288
local function env_bytes(env, shared)
  local seen, stack, n, total = { [env] = true }, { env }, 1, 0
  while n > 0 do
    local t = stack[n]
    stack[n] = nil
    n = n - 1
    total = total + 40
    local k, v = next(t)
    while k ~= nil do
      total = total + 32
      for _, x in ipairs({ k, v }) do
        local kind = rawtype(x)
        if kind == "string" then
          total = total + #x
        elseif kind == "table" and not seen[x] and not shared[x] then
          seen[x] = true
          n = n + 1
          stack[n] = x
        end
      end
      k, v = next(t, k)
    end
  end
  return total
end

-- Memory stays near the ceiling after a full collection: the script holding the
-- most is quarantined (its environment dropped), so it cannot starve the others.
local function quarantine_hog()
  local shared = {}
  for _, S in pairs(scripts) do
    local env = S.env
    if env then -- the engine's tables every environment links to are nobody's
      for _, name in ipairs({ "string", "table", "math", "os", "io", "coroutine", "utf8", "bit",
                              "hiredis", "cjson", "cjson_safe", "marshal", "dragonfly", "mle" }) do
        local lib = rawget(env, name)
        if rawtype(lib) == "table" then shared[lib] = true end
      end
    end
  end
  local hog, most = nil, 0
  for _, S in pairs(scripts) do
    if S.env and not S.quarantined then
      local bytes = env_bytes(S.env, shared)
      if bytes > most then hog, most = S, bytes end
    end
  end
  if hog and most > 0.25 * MEMORY_CEILING_KB * 1024 then
    quarantine(hog, MEMORY_MSG, str_format("for holding %d MB of the %d MB memory ceiling",
      math_floor(most / 1048576), math_floor(MEMORY_CEILING_KB / 1024)))
  end
end

-- Quarantine that heals: failures are counted per event type. After quarantine_after
-- consecutive failures on events of one type, the script skips that type only (a script
-- that fails on every flow event goes on scoring DNS) for S.retry seconds, then takes
-- one event of it again: a success lifts the quarantine, a failure doubles the wait (at
-- most MAX_RETRY). A reload (a new or changed file) starts the script afresh.
local MAX_RETRY = 600
local h_now = H.now
local function type_getter(m) return m.event_type end
local function event_type(m)
  local t
  local kind = rawtype(m)
  if kind == "table" then
    t = rawget(m, "event_type")
  elseif kind == "userdata" then
    local ok, v = pcall(type_getter, m)
    t = ok and v or nil
  end
  return rawtype(t) == "string" and t or ""
end

local function type_label(t) return t == "" and "events without an event_type" or (t .. " events") end

local function failed_on_type(S, m, text)
  local t = event_type(m)
  local fails = S.fails
  if fails == nil then
    fails = {}
    S.fails = fails
  end
  local n = (fails[t] or 0) + 1
  fails[t] = n
  local q = S.qtypes[t]
  if q then -- the retry failed
    q.wait = math.min(q.wait * 2, MAX_RETRY)
    q.retry_at = h_now() + q.wait
    h_log(S.id, "error", str_format("still failing on %s (%s); next retry in %g s", type_label(t), text, q.wait))
  elseif n >= S.quarantine_after then
    S.qtypes[t] = { wait = S.retry, retry_at = h_now() + S.retry, since = n }
    S.n_quarantines = S.n_quarantines + 1
    h_log(S.id, "error", str_format("quarantined for %s after %d consecutive failures (last error: %s); "
      .. "retry in %g s, or fix the script and reload", type_label(t), n, text, S.retry))
  end
end

-- a success after failures on this event type: forget them, lift a quarantine
local function healed(S, m)
  local t = event_type(m)
  local fails = S.fails
  fails[t] = nil
  if next(fails) == nil then S.fails = nil end -- nothing failing: S.fails == nil again
  if S.qtypes[t] then
    S.qtypes[t] = nil
    h_log(S.id, "warning", str_format("quarantine for %s lifted: a retry succeeded", type_label(t)))
  end
end

-- returns true when the event was passed on
local function failed(S, m, fwd, hops, o, hook, err)
  local text = error_text(err)
  S.last_error = text
  S.n_err = S.n_err + 1
  S.consecutive = S.consecutive + 1
  if text == MEMORY_MSG then
    collect("collect")
    if collect("count") > 0.75 * MEMORY_CEILING_KB then quarantine_hog() end
  end
  h_log(S.id, "error", hook .. ": " .. text)
  annotate(m, S, hook, text)
  local passed = not fwd and pass_on(S, m, hops, o)
  if S.quarantine_after > 0 and hook == "loop" and not S.quarantined then failed_on_type(S, m, text) end
  return passed
end

-- S.fails is nil unless some event type has failures counted (S.qtypes is empty then)
local function succeeded(S, m)
  S.consecutive = 0
  if S.fails ~= nil then healed(S, m) end
end

-- is S quarantined for this event (its type waits for a retry)? Returns the skip text.
local function skipped_type(S, m)
  local t = event_type(m)
  local q = S.qtypes[t]
  if q == nil or h_now() >= q.retry_at then return nil end
  return "skipped: script is quarantined" .. (t ~= "" and (" for " .. t .. " events") or "")
end

-- Redis pipelining -----------------------------------------------------------------
-- conn:command() encodes its command into the pending payload and, inside an
-- event coroutine, yields. When no work is left, the scheduler sends every
-- pending command in one round trip and resumes each waiter with its own reply.
local YIELD_MARK = setmetatable({}, { __tostring = function() return "redis-wait" end })
local DONE_MARK = {}
K.YIELD_MARK = YIELD_MARK

-- bytes of commands pending at once: a quarter of the memory ceiling, at most 64 MiB
local MAX_PAYLOAD = math.min(64 * 1024 * 1024, math.floor((H.max_memory_kb or 524288) * 1024 / 4))

-- A command is checked and its arguments stored where the script runs (a hooked
-- coroutine: every Lua instruction there costs ~2.3x); the RESP text of the whole
-- batch is built in round_trip, on the main thread, without the hook.
local args, args_n, out_bytes = {}, 0, 0 -- every pending command's arguments, flat
local pend_argc = {}
-- Every wait gets a ticket; a reply resumes its event only if the event is still
-- waiting on that ticket (a script may abandon a wait, e.g. when its own coroutine
-- could not yield, and issue another command).
local pend_kind, pend_rec, pend_tk, pend_S, pend_n = {}, {}, {}, {}, 0
local ready_rec, ready_tk, ready_val, ready_err, ready_n = {}, {}, {}, {}, 0
local tickets = 0

local HEADERS, LENGTHS = {}, {}
for i = 0, 64 do HEADERS[i] = "*" .. i .. "\r\n" end
for i = 0, 511 do LENGTHS[i] = "$" .. i .. "\r\n" end

local function lenhdr(len) return LENGTHS[len] or ("$" .. len .. "\r\n") end

-- one command's RESP text from args[a .. a+n-1]: a single concatenation for the
-- usual 1-4 arguments (table.concat of parts cost ~4k instructions per command)
local function encode_one(a, n)
  local x, y, z, w = args[a], args[a + 1], args[a + 2], args[a + 3]
  if n == 2 then
    return HEADERS[2] .. lenhdr(#x) .. x .. "\r\n" .. lenhdr(#y) .. y .. "\r\n"
  elseif n == 3 then
    return HEADERS[3] .. lenhdr(#x) .. x .. "\r\n" .. lenhdr(#y) .. y .. "\r\n" .. lenhdr(#z) .. z .. "\r\n"
  elseif n == 4 then
    return HEADERS[4] .. lenhdr(#x) .. x .. "\r\n" .. lenhdr(#y) .. y .. "\r\n" .. lenhdr(#z) .. z .. "\r\n"
      .. lenhdr(#w) .. w .. "\r\n"
  elseif n == 1 then
    return HEADERS[1] .. lenhdr(#x) .. x .. "\r\n"
  end
  local parts, k = { HEADERS[n] or ("*" .. n .. "\r\n") }, 1
  for i = a, a + n - 1 do
    local v = args[i]
    parts[k + 1], parts[k + 2], parts[k + 3] = lenhdr(#v), v, "\r\n"
    k = k + 3
  end
  return concat(parts, "", 1, k)
end

-- the RESP text of every pending command, in order
local function encode_pending()
  local texts, a = {}, 1
  for j = 1, pend_n do
    local n = pend_argc[j]
    texts[j] = encode_one(a, n)
    a = a + n
  end
  return concat(texts, "", 1, pend_n)
end

-- Python hands replies over as they come from hiredis: integers, byte strings
-- (Lua strings), None (nil), Python lists for arrays and {"__redis_error__": msg}
-- for error replies. Give them lua-hiredis's shapes, with the script's own
-- constants (hiredis.NIL, hiredis.status.*) so identity comparisons hold.
local shape
local function shape_complex(v, S)
  local err = v.__redis_error__
  if err ~= nil then return S.make_error(err) end
  local out = {}
  for i = 1, #v do out[i] = shape(v[i], 0, S) end
  return out
end

shape = function(reply, kind, S)
  local t = rawtype(reply)
  if t == "string" then
    if kind == 1 then return S.status[reply] end
    return reply
  elseif t == "number" then
    return reply
  elseif reply == nil then
    return S.NIL
  elseif t == "userdata" then
    return shape_complex(reply, S)
  end
  return reply
end

-- Send everything pending; keep replies for waiting coroutines in the ready list.
-- Returns the reply of the last command when `want_last` (a synchronous call).
local function round_trip(want_last)
  local n = pend_n
  local ok, payload = pcall(encode_pending)
  for i = 1, args_n do args[i] = nil end
  args_n, out_bytes, pend_n = 0, 0, 0
  local replies
  if ok then ok, replies = pcall(h_redis, payload, n) else replies = payload end
  local failure = not ok and ("redis: " .. error_text(replies)) or nil
  local last_val, last_err
  for j = 1, n do
    local val = nil
    if ok then val = shape(replies[j], pend_kind[j], pend_S[j]) end
    local rec = pend_rec[j]
    if rec then
      ready_n = ready_n + 1
      ready_rec[ready_n], ready_tk[ready_n] = rec, pend_tk[j]
      ready_val[ready_n], ready_err[ready_n] = val, failure or false
    elseif j == n and want_last then
      last_val, last_err = val, failure
    end
    pend_rec[j], pend_S[j] = nil, nil
  end
  return last_val, last_err
end

-- commands whose success reply is a status (+OK), for hiredis.status.* identity
local STATUS_COMMANDS = {}
for name in ("PING SET SETEX PSETEX MSET HMSET RENAME LSET LTRIM TYPE RESTORE XGROUP XTRIM"):gmatch("%S+") do
  STATUS_COMMANDS[name] = true
end

-- Commands a script may not send: they would stop or reconfigure the shared state
-- store, change the state of the connection every script of the worker shares,
-- block the worker outside the instruction budget, or wipe every script's state.
local DENIED = {}
for name in ("SHUTDOWN CONFIG DEBUG MODULE SAVE BGSAVE BGREWRITEAOF REPLICAOF SLAVEOF FAILOVER CLUSTER ACL "
  .. "MONITOR SYNC PSYNC CLIENT SELECT SWAPDB MOVE MULTI EXEC DISCARD WATCH UNWATCH SUBSCRIBE PSUBSCRIBE "
  .. "SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE QUIT RESET HELLO AUTH FLUSHALL FLUSHDB WAIT WAITAOF "
  .. "BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP READONLY READWRITE LATENCY"):gmatch("%S+") do
  DENIED[name] = "not allowed in MLE scripts (it would affect the engine or every other script)"
end
local EVAL_COMMANDS = {}
for name in ("EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO FUNCTION SCRIPT"):gmatch("%S+") do
  EVAL_COMMANDS[name] = true
end

-- per command name as written: 0 plain, 1 status, 2 SET (status unless GET),
-- 3 XREAD/XREADGROUP (refused with BLOCK), 4 eval family, 5 Redis-ML (ML.*), -1 denied
local KIND, KIND_UPPER, kind_cached = {}, {}, 0
local function kind_of(name)
  local kind = KIND[name]
  if kind == nil then
    local upper = name:upper()
    if DENIED[upper] then kind = -1
    elseif EVAL_COMMANDS[upper] then kind = 4
    elseif upper == "SET" then kind = 2
    elseif upper == "XREAD" or upper == "XREADGROUP" then kind = 3
    elseif upper:sub(1, 3) == "ML." then kind = 5
    else kind = STATUS_COMMANDS[upper] and 1 or 0 end
    if kind_cached < 1000 then
      KIND[name], KIND_UPPER[name] = kind, upper
      kind_cached = kind_cached + 1
    end
  end
  return kind
end

local function number_text(v)
  if math_type then
    if math_type(v) == "float" and v == math_floor(v) and v > -2^63 and v < 2^63 then return str_format("%d", v) end
  elseif v == math_floor(v) and v > -2^53 and v < 2^53 then
    return str_format("%d", v)
  end
  return tostring(v)
end

-- FCALL/FCALL_RO of one of MLE's own server-side functions (mle/lua/redis/): allowed
-- without allow_eval, they are the engine's bounded code
local function engine_function(name, _, fname)
  local upper = KIND_UPPER[name] or name:upper()
  return (upper == "FCALL" or upper == "FCALL_RO") and rawtype(fname) == "string" and fname:sub(1, 4) == "mle_"
end

-- drop the arguments stored so far by a command that is refused
local function unstore(base)
  for i = base + 1, args_n do args[i] = nil end
  args_n = base
end

local command
-- Redis-ML's commands (the module is long dead) are answered by MLE's server-side
-- functions: mle/lua/redisml.lua rewrites ML.LOGREG.PREDICT key ... into
-- FCALL mle_ml_logreg_predict 1 key ...; its SET/ADD commands answered +OK.
local REDISML_STATUS = { ["ML.LOGREG.SET"] = true, ["ML.LINREG.SET"] = true, ["ML.FOREST.ADD"] = true }
local status_reply = false -- the command being stored answers with a status
local function redisml_command(name, ...)
  local words, err = K.redisml.rewrite({ ... })
  if not words then return cur.S.make_error(err) end
  status_reply = REDISML_STATUS[name:upper()] or false
  return command(#words, unpack(words))
end

command = function(n, ...)
  if n == 0 then error("redis command expected", 3) end
  local rec = cur
  local S = rec.S
  if not S then error("redis commands are only available inside a script", 3) end
  local name = ...
  if rawtype(name) ~= "string" then error("redis command name must be a string", 3) end
  if rec.released and S.ahead then
    S.ahead = false
    error("redis: a second command in one event from a script analysed as sending one per event "
      .. "(please report this script); its events now run one at a time", 3)
  end
  local kind = KIND[name] or kind_of(name)
  if kind == 5 then return redisml_command(name, ...) end
  if kind < 0 then
    error(str_format("redis %s is %s", name, DENIED[KIND_UPPER[name] or name:upper()]), 3)
  elseif kind == 4 and not S.allow_eval and not engine_function(name, ...) then
    error(str_format("redis %s needs allow_eval = true on this script's config entry", name), 3)
  end
  -- check and store every argument; a bad one raises with nothing queued
  local base, size = args_n, 0
  args_n = base + n
  for i = 1, n do
    local v = (select(i, ...))
    local t = rawtype(v)
    if t == "number" then
      v = number_text(v)
    elseif t == "boolean" then
      v = v and "1" or "0"
    elseif t ~= "string" then
      unstore(base)
      error(str_format("redis argument #%d must be a string or number, got %s", i, t), 3)
    elseif utf8_len and not utf8_len(v) then
      unstore(base)
      error(str_format("redis argument #%d is not valid UTF-8 (encode binary values, e.g. base64)", i), 3)
    end
    size = size + #v
    args[base + i] = v
    if i > 1 and kind >= 2 then
      local upper = #v <= 5 and v:upper()
      if kind == 2 and upper == "GET" then kind = 0 end
      if kind == 3 and upper == "BLOCK" then
        unstore(base)
        error("redis " .. name .. " with BLOCK is not allowed in MLE scripts (it would stall the worker)", 3)
      end
    end
  end
  if out_bytes + size > MAX_PAYLOAD then
    unstore(base)
    error(str_format("redis command too large (%d bytes; at most %d bytes may be pending)", size, MAX_PAYLOAD), 3)
  end
  out_bytes = out_bytes + size
  S.n_redis = S.n_redis + 1
  pend_n = pend_n + 1
  local j = pend_n
  pend_argc[j], pend_S[j] = n, S
  pend_kind[j] = (kind == 2 and 1) or (kind == 1 and 1) or (status_reply and 1) or 0
  status_reply = false
  if rec.co and co_isyieldable() then
    if rec.adm and S.ahead then release_next(rec, S) end
    tickets = tickets + 1
    pend_rec[j], pend_tk[j] = rec, tickets
    rec.ticket = tickets
    local val, err = co_yield(YIELD_MARK)
    if err then return nil, err end
    return val
  end
  -- not inside an event coroutine (setup in plain mode, a C callback, ...):
  -- one synchronous round trip that also carries every command issued before it
  pend_rec[j] = false
  local val, err = round_trip(true)
  if err then return nil, err end
  return val
end
K.command = command

function K.redis_command(...)
  return command(select("#", ...), ...)
end

-- command lines repeat (counters per event type): keep their split, up to a bound
local split_cache, split_cached = {}, 0
function K.redis_command_line(line)
  if rawtype(line) ~= "string" then error("command_line expects a string", 2) end
  local split = split_cache[line]
  if split == nil then
    local n = 0
    split = {}
    for word in line:gmatch("[^ ]+") do -- hiredis' format split: single spaces, %% is a literal %
      n = n + 1
      split[n] = word:find("%", 1, true) and (word:gsub("%%%%", "%%")) or word
    end
    split.n = n
    if split_cached < 10000 and #line <= 256 then
      split_cache[line] = split
      split_cached = split_cached + 1
    end
  end
  return command(split.n, unpack(split, 1, split.n))
end

-- A script's own coroutine waits for a reply while the engine coroutine cannot
-- yield (it was resumed from a C function such as a table.sort comparator):
-- fetch everything pending now and hand back this event's reply.
function K.sync_wait()
  local rec = cur
  round_trip(false)
  for j = ready_n, 1, -1 do
    if ready_rec[j] == rec and ready_tk[j] == rec.ticket then
      local val, err = ready_val[j], ready_err[j]
      ready_rec[j], rec.ticket = false, nil -- consumed; the scheduler skips it
      if err then return nil, err end
      return val
    end
  end
  return nil, "redis: no reply"
end

function K.uses_redis()
  local S = cur.S
  if S then S.coro = true end
end

-- may any script talk to Redis (it connected, or its source names hiredis)? Only then
-- do lanes matter: without Redis no script can see another event's effects.
function K.any_redis()
  for _, S in pairs(scripts) do
    if S.coro or S.redis_hint then return true end
  end
  return false
end

-- the coroutine pool ---------------------------------------------------------------
local pool, pool_n = {}, 0
local kernel_threads = setmetatable({}, { __mode = "k" })
K.kernel_threads = kernel_threads

local function pool_body(fn, m)
  while true do
    local ok, err = pcall(fn, m)
    fn, m = co_yield(DONE_MARK, ok, err)
  end
end

local function get_worker()
  if pool_n > 0 then
    local rec = pool[pool_n]
    pool[pool_n] = nil
    pool_n = pool_n - 1
    return rec
  end
  local co = co_create(pool_body)
  if BUDGETED and not LUAJIT then sethook(co, budget_hook, "", HOOK_COUNT) end
  kernel_threads[co] = true
  return { S = nil, m = nil, fwd = false, hops = 0, ticks = 0, co = co }
end

local function release(rec)
  rec.S, rec.m, rec.ticket, rec.origin = nil, nil, nil, nil -- replies to the old use are dropped
  pool_n = pool_n + 1
  pool[pool_n] = rec
end

local SAMPLE_EVERY = 16 -- time one call in 16 per script (os.clock costs ~0.7 us)

-- A sequential script runs one item at a time, in the order items reach it (S.busy:
-- an admitted item is running). When that item is finished the next waiting one is
-- admitted (queued with the admitted mark). A script that sends at most one Redis
-- command per event (S.ahead, proven from its source by mle/lua/analysis.py) admits
-- the next item as soon as its command is issued ("released"): the next event runs up
-- to its own command, which follows in the same round trip. An event that is the same
-- table as one still in flight (S.inflight) waits for it.
local function admissible(S, m)
  local f = S.inflight
  return not (f and m ~= nil and f[m])
end

local function next_in_sequence(S)
  local w = S.waitq
  local h = w.head
  if h <= w.tail and admissible(S, w[h]) then
    local m, hops, o, hook = w[h], w.hops[h], w.org[h], w.hook[h]
    w[h], w.hops[h], w.org[h], w.hook[h] = nil, nil, nil, nil
    w.head = h + 1
    S.busy = true
    enqueue(S, m, hops, o, true, hook)
  else
    S.busy = false
  end
end

-- the admitted item `rec` issued its one command: let the next event of S run
release_next = function(rec, S)
  rec.released = true
  local m = rec.m
  if m ~= nil then
    local f = S.inflight
    if f == nil then
      f = {}
      S.inflight = f
    end
    f[m] = (f[m] or 0) + 1
  end
  next_in_sequence(S)
end

local function finish(rec, S, ok, err)
  local sent = rec.sent
  if ok then
    succeeded(S, rec.m)
  else
    sent = failed(S, rec.m, rec.fwd, rec.hops, rec.origin, rec.hook or "loop", err) or sent
  end
  if rec.hook == "loop" then
    sent = route_on(S, rec.m, rec.hops, rec.origin, ok and not rec.fwd, not sent) or sent
    if not sent then S.n_drop = S.n_drop + 1 end -- nothing went on after this event
  end
  if rec.adm then
    if not rec.released then
      next_in_sequence(S)
    else
      local m, f = rec.m, S.inflight
      if m ~= nil and f then
        local left = f[m] - 1
        f[m] = left > 0 and left or nil
      end
      if not S.busy then next_in_sequence(S) end
    end
  end
  item_done(rec.origin)
end

-- resume rec.co with the given arguments and act on how it stops
local function resume(rec, ...)
  local S = rec.S
  cur = rec
  ticks, tick_limit, exceeded = rec.ticks, S.budget, rec.exceeded or false
  local t0 = rec.timed and clock()
  if LUAJIT then hook_on() end
  local ok, a, b, c = co_resume(rec.co, ...)
  if LUAJIT then hook_off() end
  if t0 then S.time = S.time + (clock() - t0) end
  rec.ticks, rec.exceeded = ticks, exceeded
  tick_limit, exceeded = HUGE, false
  cur = plain_rec
  if not ok then
    -- an error outside the pool body's pcall (e.g. the budget hook in kernel code):
    -- the coroutine is dead, do not reuse it
    kernel_threads[rec.co] = nil
    rec.ticket = nil
    finish(rec, S, false, a)
  elseif a == YIELD_MARK then
    return -- parked: its command is in the pending payload
  elseif a == DONE_MARK then
    finish(rec, S, b, rec.exceeded and BUDGET_MSG or c)
    rec.exceeded = false
    release(rec)
  else
    kernel_threads[rec.co] = nil
    rec.ticket = nil
    finish(rec, S, false, "coroutine.yield called outside a coroutine")
  end
end

local function run_plain(S, m, hops, o, fn, hook)
  local rec = plain_rec
  rec.S, rec.m, rec.fwd, rec.hops, rec.hook, rec.origin, rec.sent = S, m, false, hops, hook, o, false
  cur = rec
  ticks, tick_limit, exceeded = 0, S.budget, false
  local t0 = (S.n_in % SAMPLE_EVERY == 0) and clock()
  if BUDGETED then sethook(budget_hook, "", HOOK_COUNT) end -- hook_on(), without a call
  local ok, err = pcall(fn, m)
  if BUDGETED then sethook() end
  if t0 then S.time = S.time + (clock() - t0) end
  tick_limit = HUGE
  local was_exceeded = exceeded
  exceeded = false
  cur = plain_rec
  local fwd, sent = rec.fwd, rec.sent
  rec.S, rec.m, rec.hook, rec.origin = nil, nil, nil, nil
  if ok then
    S.consecutive = 0 -- succeeded(S, m), without a call on the usual path
    if S.fails ~= nil then healed(S, m) end
  else
    if was_exceeded then err = BUDGET_MSG end
    sent = failed(S, m, fwd, hops, o, hook, err) or sent
  end
  return ok, fwd, sent
end

-- While a batch is isolated (re-run event by event after a worker crashed), the
-- kernel reports each script it is about to run, so the culprit can be named.
local trace = nil
function K.set_trace(fn) trace = fn end

-- loop(msg) of a plain script (no coroutine) on event m, then the event goes on along
-- its route (or, when nothing went on, it counts as dropped here)
local function run_loop(S, m, hops, o)
  S.n_in = S.n_in + 1
  local ok, fwd, sent = run_plain(S, m, hops, o, S.loop, "loop")
  if not (ROUTED and route_on(S, m, hops, o, ok and not fwd, not sent)) and not sent then
    S.n_drop = S.n_drop + 1 -- nothing went on after this event
  end
end

-- hook: nil for loop(msg), or the name of another per-event hook ("feedback")
local function run_item(S, m, hops, o, adm, hook)
  if trace then trace(S.id) end
  local w = S.waitq
  if w and not adm then
    if S.busy or w.head <= w.tail or not admissible(S, m) then
      local t = w.tail + 1
      w.tail = t
      w[t], w.hops[t], w.org[t], w.hook[t] = m, hops, o, hook
      return
    end
    S.busy, adm = true, true
  end
  local skip = S.quarantined and "skipped: script is quarantined"
  if not skip and not hook and S.fails ~= nil and next(S.qtypes) ~= nil then skip = skipped_type(S, m) end
  if skip then
    if not hook then -- counted in and out (or dropped) as if it had run
      S.n_in = S.n_in + 1
      annotate(m, S, "loop", skip)
      local sent = pass_on(S, m, hops, o)
      if not route_on(S, m, hops, o) and not sent then S.n_drop = S.n_drop + 1 end
    end
    if adm then next_in_sequence(S) end
    return item_done(o)
  end
  if not S.coro then
    if hook then run_plain(S, m, hops, o, S[hook], hook) else run_loop(S, m, hops, o) end
    if adm then next_in_sequence(S) end
    return item_done(o)
  end
  local fn = hook and S[hook] or S.loop
  hook = hook or "loop"
  if hook == "loop" then S.n_in = S.n_in + 1 end
  local rec = get_worker()
  rec.S, rec.m, rec.fwd, rec.hops, rec.ticks, rec.hook = S, m, hook ~= "loop", hops, 0, hook
  rec.origin, rec.adm, rec.released, rec.commands, rec.sent = o, adm, false, 0, false
  rec.timed = (S.n_in % SAMPLE_EVERY == 0)
  resume(rec, fn, m)
end

-- The next batch overwrites the slots; only a long queue is cleared, so that a burst
-- of work (analyze_event loops, up to MAX_WORK items) does not keep its events alive.
-- At most KEEP_SLOTS items' events stay referenced until then.
local KEEP_SLOTS = 4096
local function clear_queue()
  if q_tail > KEEP_SLOTS then
    for i = 1, q_tail do q_s[i], q_m[i], q_h[i], q_o[i], q_a[i], q_k[i] = nil, nil, nil, nil, nil, nil end
  end
  q_head, q_tail, work = 1, 0, 0
end

-- process queued work until nothing is left, flushing Redis between rounds
local function drain()
  while true do
    while q_head <= q_tail do
      local i = q_head
      q_head = i + 1
      run_item(q_s[i], q_m[i], q_h[i], q_o[i], q_a[i], q_k[i])
    end
    if ready_n == 0 then
      if pend_n == 0 then return clear_queue() end
      round_trip(false)
    end
    -- resume every waiter whose reply is in, in the order the commands were sent
    local n = ready_n
    local recs, tks, vals, errs = ready_rec, ready_tk, ready_val, ready_err
    ready_rec, ready_tk, ready_val, ready_err, ready_n = {}, {}, {}, {}, 0
    for j = 1, n do
      local rec = recs[j]
      -- a reply whose waiter moved on (consumed synchronously, abandoned, reused) is dropped
      if rec and rec.ticket == tks[j] and rec.S ~= nil then
        rec.ticket = nil
        local err = errs[j]
        resume(rec, vals[j], err or nil)
      end
    end
  end
end

-- routes: analyzers that declare the event types they want -------------------------
-- An analyzer may declare at its top level
--   analyzer = { event_types = { "dns", "tls" }, order = 40 }   -- or event_types = "*"
-- mle.route(msg) (in an input script) hands the event to every analyzer that wants its
-- event_type, in order (lower first, then by tag), then to every output. A routed
-- analyzer only annotates: when its loop is done, failed or skipped, the route goes on.
local routes = {}       -- event type -> { S, ... } ("*": the analyzers that want everything)
local route_of = setmetatable({}, { __mode = "k" }) -- event -> its route (while on it)
local route_at = setmetatable({}, { __mode = "k" }) -- event -> position on it
local route_outputs = {} -- output indexes a route ends in

function K.read_declaration(decl)
  if decl == nil then return nil end
  if rawtype(decl) ~= "table" then return nil, "analyzer must be a table, e.g. analyzer = { event_types = { \"dns\" } }" end
  local types = rawget(decl, "event_types")
  if types == "*" then types = { "*" } end
  if rawtype(types) ~= "table" or rawget(types, 1) == nil then
    return nil, "analyzer.event_types must be a list of event types (or \"*\" for all)"
  end
  local out = {}
  for i = 1, rawcount(types) do
    local t = rawget(types, i)
    if rawtype(t) ~= "string" then return nil, "analyzer.event_types: entries must be strings" end
    out[i] = t
  end
  local order = rawget(decl, "order")
  if order ~= nil and rawtype(order) ~= "number" then return nil, "analyzer.order must be a number" end
  local with_findings = rawget(decl, "with_findings")
  if with_findings ~= nil and rawtype(with_findings) ~= "boolean" then
    return nil, "analyzer.with_findings must be true or false"
  end
  return { event_types = out, order = order or 50, with_findings = with_findings == true }
end

local function route_sort(a, b)
  if a.declared.order ~= b.declared.order then return a.declared.order < b.declared.order end
  return a.tag < b.tag
end

-- An analyzer declared with `with_findings = true` is also on the route of every other
-- event type, taking only the events that have a finding when the route reaches it
-- (list.cond[S]: a combiner such as triage costs nothing on the others).
local function add_conditional(list, extra)
  for _, S in ipairs(extra) do
    local on = false
    for _, other in ipairs(list) do on = on or other == S end
    if not on then
      list[#list + 1] = S
      list.cond = list.cond or {}
      list.cond[S] = true
    end
  end
end

build_routes = function()
  routes = {}
  ROUTED = false
  local all, wanted, extra = {}, {}, {}
  for _, S in pairs(scripts) do
    local d = S.declared
    if d and S.kind == "analyzer" then
      for _, t in ipairs(d.event_types) do
        if t == "*" then all[#all + 1] = S else
          wanted[t] = wanted[t] or {}
          wanted[t][#wanted[t] + 1] = S
        end
      end
      if d.with_findings then extra[#extra + 1] = S end
    end
  end
  for t, list in pairs(wanted) do
    for _, S in ipairs(all) do list[#list + 1] = S end
    add_conditional(list, extra)
    table.sort(list, route_sort)
    routes[t] = list
  end
  add_conditional(all, extra)
  table.sort(all, route_sort)
  routes["*"] = all
  ROUTED = next(wanted) ~= nil or all[1] ~= nil
  route_outputs = {}
  for _, index in pairs(outputs_by_tag) do route_outputs[index] = true end
  local sorted = {}
  for index in pairs(route_outputs) do sorted[#sorted + 1] = index end
  table.sort(sorted)
  route_outputs = sorted
end

local function route_end(m)
  for i = 1, #route_outputs do pcall(emit, route_outputs[i], m) end
end

-- mle.fields(msg): the top-level fields nearly every analyzer reads (event_type,
-- timestamp, flow_id, the five-tuple, app_proto, the flow/dns/tls/http/alert objects),
-- fetched in one call into Python the first time a script asks for a record, where each
-- msg.field read is a call of its own. Values as first fetched (the objects are the
-- record's own: reads through them are live). Every call returns a new empty table that
-- reads through to them and refuses writes; what a script rawsets stays in its own
-- table, so no script changes what another reads there. A table a script built is its
-- own fields table.
-- Weak keys: a record's values go with it. A strong table lives through collections,
-- and what it holds is then freed only by a major one: the records of many batches
-- stayed alive (tests/core/test_lua_heap.py).
local h_fields = H.fields
local function read_only() error("mle.fields: the table is read-only (change the record through msg)", 2) end
local views_of = setmetatable({}, { __mode = "k" }) -- record -> the metatable of its views
function K.fields(m)
  local view = views_of[m]
  if view == nil then
    local kind = rawtype(m)
    if kind == "table" then return m end
    if kind ~= "userdata" then error("mle.fields: the argument must be an event", 2) end
    local event_type, timestamp, flow_id, src_ip, src_port, dest_ip, dest_port, proto, app_proto,
          flow, dns, tls, http, alert = h_fields(m)
    view = { __index = { event_type = event_type, timestamp = timestamp, flow_id = flow_id, src_ip = src_ip,
                         src_port = src_port, dest_ip = dest_ip, dest_port = dest_port, proto = proto,
                         app_proto = app_proto, flow = flow, dns = dns, tls = tls, http = http, alert = alert },
             __newindex = read_only, __metatable = false }
    views_of[m] = view
  end
  return setmetatable({}, view)
end

-- mle.has_findings(msg): false when no analyzer made a finding on this event here
-- (mle.finding, mle.set_priority with a reason) and it did not arrive annotated, so a
-- script can skip reading msg.mle (a call into Python, and a wrapper for its value)
-- on the many events that have none. Weak keys: the marks go with the records.
local found = setmetatable({}, { __mode = "k" })
function K.found(m) found[m] = true end
local function has_findings(m)
  if rawtype(m) == "table" then
    local a = rawget(m, "mle")
    return rawtype(a) == "table" and rawget(a, "findings") ~= nil
  end
  return found[m] == true
end
K.has_findings = has_findings

-- the position of the first analyzer from `at` on that takes event m (past the
-- with_findings analyzers while m has no finding)
local function route_step(list, at, m)
  local cond = list.cond
  if cond == nil or not cond[list[at]] or has_findings(m) then return at end
  repeat at = at + 1 until not cond[list[at]]
  return at
end

-- mle.route(msg [, event_type]): start msg on the route of its event type (the caller
-- may pass the type it read already: one call into Python less); a type no analyzer
-- declared, a string or not, takes the "*" route
function K.route(m, t)
  if m == nil then return end
  local rec = cur
  local S = rec.S
  if t == nil then t = m.event_type end
  local list = (t ~= nil and routes[t]) or routes["*"]
  if rawequal(m, rec.m) then rec.fwd = true end
  rec.sent = true
  if S then S.n_out = S.n_out + 1 end
  local at = list and route_step(list, 1, m)
  if list == nil or list[at] == nil then return route_end(m) end
  route_of[m], route_at[m] = list, at
  push(list[at], m, (rec.hops or 0) + 1, rec.origin)
end

-- An item of S on event m is finished: the event goes on along its route. A declared
-- analyzer reached through an explicit chain (analyze_event, default_analyzer) that
-- did not pass the event on itself (`unsent`) passes it to its default_analyzer or
-- default_output, as a Dragonfly script would.
-- Returns true when it sent the event on (counted in S's n_out).
route_on = function(S, m, hops, o, unsent, may_inline)
  local list = m ~= nil and route_of[m]
  if not list then
    return unsent and S.declared and pass_on(S, m, hops, o) or false
  end
  local at = route_at[m]
  if list[at] ~= S then return false end
  S.n_out = S.n_out + 1
  at = at + 1
  local cond = list.cond
  if cond ~= nil and cond[list[at]] then at = route_step(list, at, m) end
  local nxt = list[at]
  if nxt == nil then
    route_of[m], route_at[m] = nil, nil
    route_end(m)
    return true
  end
  route_at[m] = at
  if may_inline and inline_depth < MAX_INLINE and not nxt.coro and not nxt.waitq and not trace then
    -- as a nested call: run_item's checks only when nxt is quarantined or has failures
    -- counted; the nested item needs no count of its own against origin o (the item that
    -- finished, whose route_on this is, is counted until it returns)
    inline_depth = inline_depth + 1
    if nxt.quarantined or nxt.fails ~= nil then
      if o then org_left[o] = org_left[o] + 1 end
      run_item(nxt, m, hops + 1, o, false, nil)
    else
      run_loop(nxt, m, hops + 1, o)
    end
    inline_depth = inline_depth - 1
  else
    push(nxt, m, hops + 1, o)
  end
  return true
end

-- what Python calls ----------------------------------------------------------------

-- Run one batch through an input script. `events` is a Lua table whose slots
-- hold decoded records (Python dicts) or nil for lines that were not valid JSON;
-- `lanes` (optional) each event's lane key (nil: a lane of its own); `annotated`
-- (optional) the indexes of records that arrived with an mle annotation.
function K.run_batch(events, n, input_id, lanes, annotated)
  local S = scripts[input_id]
  if annotated then
    for i = 1, #annotated do found[events[annotated[i]]] = true end
  end
  if lanes then
    for i = 1, n do admit_origin(i, S, events[i], lanes[i]) end
  else
    for i = 1, n do admit_origin(i, S, events[i], nil) end
  end
  drain()
  for i = 1, n do org_left[i], org_lane[i], org_S[i], org_m[i] = nil, nil, nil, nil end
end

-- An analyst's verdict (a table) to every analyzer that defines feedback(fb), in
-- config order, each after the events it has already taken (sequential scripts).
function K.run_feedback(value)
  local ids = {}
  for id, S in pairs(scripts) do
    if S.kind == "analyzer" and S.feedback then ids[#ids + 1] = id end
  end
  table.sort(ids)
  for _, id in ipairs(ids) do enqueue(scripts[id], value, 0, nil, false, "feedback") end
  drain()
  return #ids
end

-- Deliver (analyzer id, table) pairs from fired timers.
function K.run_timers(ids, values, n)
  for i = 1, n do
    local S = scripts[ids[i]]
    if S then push(S, values[i], 0, nil) end
  end
  drain()
end

-- Run one hook of a script (top-level chunk, setup) to completion, with Redis
-- calls made synchronously. Returns true or false, message.
function K.run_hook(id, fn, hook, budget_scale)
  local S = scripts[id]
  local rec = plain_rec
  rec.S, rec.m, rec.fwd, rec.hops, rec.hook = S, nil, false, 0, hook
  cur = rec
  ticks, tick_limit, exceeded = 0, S.budget * (budget_scale or 1), false
  S.in_setup = true
  hook_on()
  local ok, err = pcall(fn)
  hook_off()
  S.in_setup = false
  tick_limit = HUGE
  local was_exceeded = exceeded
  exceeded = false
  cur = plain_rec
  rec.S, rec.hook = nil, nil
  drain() -- events the hook sent on (analyze_event in setup)
  if not ok then return false, was_exceeded and BUDGET_MSG or error_text(err) end
  return true, ""
end

function K.add_script(S)
  scripts[S.id] = S
  S.n_in, S.n_out, S.n_drop, S.n_err, S.n_redis, S.consecutive, S.time = 0, 0, 0, 0, 0, 0, 0
  S.last_error = "" -- set now: adding the key when a script ran out of memory would need memory
  S.quarantined = false
  S.qtypes, S.n_quarantines = {}, 0
  S.retry = H.quarantine_retry or 10
  S.coro = S.coro or false
  if S.sequential then S.waitq = { head = 1, tail = 0, hops = {}, org = {}, hook = {} } end
  if S.kind == "analyzer" then
    analyzers_by_tag[S.tag] = S
    analyzers_by_tag[str_lower(S.tag)] = S
  end
end

function K.add_output(tag, index)
  outputs_by_tag[tag] = index
  outputs_by_tag[str_lower(tag)] = index
end

-- resolve default_analyzer / default_output of every script to objects
function K.link()
  for _, S in pairs(scripts) do
    S.next_analyzer = S.default_analyzer ~= "" and lookup(analyzers_by_tag, S.default_analyzer) or nil
    S.next_output = S.default_output ~= "" and lookup(outputs_by_tag, S.default_output) or nil
  end
  build_routes()
end

function K.set_quarantined(id, flag)
  local S = scripts[id]
  S.quarantined = flag
  if not flag then S.consecutive, S.fails, S.qtypes = 0, nil, {} end
end

function K.stats()
  local out = {}
  for id, S in pairs(scripts) do
    local types = {}
    for t in pairs(S.qtypes) do types[#types + 1] = t == "" and "(no event_type)" or t end
    table.sort(types)
    out[#out + 1] = {
      id = id, tag = S.tag, kind = S.kind, n_in = S.n_in, n_out = S.n_out, n_drop = S.n_drop, n_err = S.n_err,
      n_redis = S.n_redis, time = S.time * SAMPLE_EVERY, quarantined = S.quarantined or types[1] ~= nil,
      quarantined_types = concat(types, ","), quarantines = S.n_quarantines + (S.quarantined and 1 or 0),
    }
  end
  local unknown = {}
  for k, v in pairs(unknown_tags) do unknown[k] = v end
  return out, unknown
end

-- the dragonfly.* API (shared functions; the calling script comes from `cur`) -------

local function note_unknown(kind, tag)
  local key = kind .. ":" .. tostring(tag)
  local count = unknown_tags[key]
  if not count then
    local S = cur.S
    h_log(S and S.id or 0, "warning", str_format("%s tag %q is not configured; events sent there are counted "
      .. "and dropped", kind == "a" and "analyzer" or "output", tostring(tag)))
    count = 0
  end
  unknown_tags[key] = count + 1
end

local function check_tag(fn, tag, nargs)
  if nargs ~= 2 then error(str_format("dragonfly.%s expects 2 arguments (tag, event), got %d", fn, nargs), 3) end
  local t = rawtype(tag)
  if t == "number" then return tostring(tag) end
  if t ~= "string" then error(str_format("dragonfly.%s: tag must be a string, got %s", fn, t), 3) end
  return tag
end

function K.analyze_event(...)
  local tag, t = ...
  if rawtype(tag) ~= "string" or t == nil then
    tag = check_tag("analyze_event", tag, select("#", ...))
  end
  local rec = cur
  local target = lookup(analyzers_by_tag, tag)
  if not target then return note_unknown("a", tag) end
  local hops = (rec.hops or 0) + 1
  if hops > MAX_HOPS then
    error(str_format("routing loop: an event may pass through at most %d analyzers", MAX_HOPS), 2)
  end
  work = work + 1
  if work > MAX_WORK then error(str_format("more than %d events queued in one batch", MAX_WORK), 2) end
  if rawequal(t, rec.m) then rec.fwd = true end
  rec.sent = true
  local S = rec.S
  if S then S.n_out = S.n_out + 1 end
  push(target, t, hops, rec.origin)
end

-- Run an output script's format(event) under its own budget, from whatever
-- context sent the event; Redis calls in it are synchronous. Returns ok, doc|error.
local out_rec = { S = nil, m = nil, fwd = false, hops = 0, ticks = 0, co = nil }
local function format_for_output(O, t)
  if trace then trace(O.id) end
  local saved_cur, saved_ticks, saved_limit, saved_exceeded = cur, ticks, tick_limit, exceeded
  out_rec.S, out_rec.m, out_rec.fwd = O, t, false
  cur = out_rec
  ticks, tick_limit, exceeded = 0, O.budget, false
  O.n_in = O.n_in + 1
  local hooked = saved_limit ~= HUGE -- already inside a hooked script call
  if not hooked then hook_on() end
  local ok, doc = pcall(O.format, t)
  if not hooked then hook_off() end
  local was_exceeded = exceeded
  cur, ticks, tick_limit, exceeded = saved_cur, saved_ticks, saved_limit, saved_exceeded
  out_rec.S, out_rec.m = nil, nil
  if ok then
    O.consecutive = 0
    if doc ~= nil then O.n_out = O.n_out + 1 else O.n_drop = O.n_drop + 1 end
    return true, doc
  end
  local text = was_exceeded and BUDGET_MSG or error_text(doc)
  O.last_error = text
  O.n_err = O.n_err + 1
  O.consecutive = O.consecutive + 1
  h_log(O.id, "error", "format: " .. text)
  if O.quarantine_after > 0 and O.consecutive >= O.quarantine_after and not O.quarantined then
    quarantine(O, text)
  end
  return false, text
end

emit = function(index, t)
  local O = output_scripts[index]
  if O == nil then return h_emit(index, t) end
  if O.quarantined then
    return h_dead_letter(index, t, "output script quarantined: " .. tostring(O.last_error))
  end
  local ok, doc = format_for_output(O, t)
  if not ok then return h_dead_letter(index, t, "output script failed: " .. doc) end
  if doc ~= nil then h_emit(index, doc) end
end

function K.output_event(...)
  local tag, t = ...
  if rawtype(tag) ~= "string" or t == nil then
    tag = check_tag("output_event", tag, select("#", ...))
  end
  local rec = cur
  local index = lookup(outputs_by_tag, tag)
  if not index then return note_unknown("o", tag) end
  if rawequal(t, rec.m) then rec.fwd = true end
  rec.sent = true
  local S = rec.S
  if S then S.n_out = S.n_out + 1 end
  emit(index, t)
end

function K.set_output_script(index, id)
  output_scripts[index] = scripts[id]
end

function K.log_event(t) h_emit(-1, t) end
function K.stats_event(t) h_emit(-2, t) end

function K.timer_event(tag, seconds, t)
  local target = lookup(analyzers_by_tag, tag)
  if not target then return note_unknown("a", tag) end
  if rawtype(seconds) ~= "number" or seconds ~= seconds or seconds < 0 or seconds == HUGE then
    error("dragonfly.timer_event: seconds must be a finite number >= 0", 2)
  end
  return h_timer(target.id, seconds, t)
end

function K.log(level, text)
  local S = cur.S
  h_log(S and S.id or 0, level, text)
end

-- forget queued work and pending commands after the kernel itself failed mid-batch
function K.reset()
  q_s, q_m, q_h, q_o, q_a, q_k, q_head, q_tail, work = {}, {}, {}, {}, {}, {}, 1, 0, 0
  inline_depth = 0
  org_left, org_lane, org_S, org_m, lane_busy, lane_q = {}, {}, {}, {}, {}, {}
  for _, S in pairs(scripts) do
    S.busy, S.inflight = false, nil
    if S.waitq then S.waitq = { head = 1, tail = 0, hops = {}, org = {}, hook = {} } end
  end
  args, args_n, out_bytes, pend_argc = {}, 0, 0, {}
  pend_kind, pend_rec, pend_tk, pend_S, pend_n = {}, {}, {}, {}, 0
  ready_rec, ready_tk, ready_val, ready_err, ready_n = {}, {}, {}, {}, 0
  cur = plain_rec
  ticks, tick_limit, exceeded = 0, HUGE, false
  hook_off()
  collect("collect")
end

-- The collector. Lua 5.4 runs generational: analyzers keep large long-lived state
-- (per-host tables) and each event leaves short-lived garbage (strings, small tables,
-- the wrappers of the event's Python objects). A minor collection visits only the
-- young objects; the incremental collector walked and swept the whole heap on every
-- cycle (38 % of the default pipeline's time: 12.8 s against 8.8 s per 50,000 events).
-- A generational collection also clears weak entries and runs finalisers in one go,
-- which keeps lupa 2.8 from reusing the slot of a wrapper cleared but not finalised
-- (scoder/lupa#294: a script handed another live Python object; incremental steps
-- sized by the batch lost events that way, tests/core/test_event_objects.py).
-- Between batches, one step (a minor collection) frees the events of the batches
-- since the last one (lupa's wrappers hold the Python objects until then): once per
-- 16 KB of heap worth of events, and at least every 2,048 events. A minor collection
-- costs per collection as well as per event: it re-walks every old table written
-- since the last one (the analyzers' per-host tables and LRUs, written by nearly
-- every event), so spacing collections in proportion to the heap keeps that cost
-- per event flat, while a small heap (pass-through, hello-world) still collects
-- after every batch and reuses warm memory (docs/performance.md, "When the collector runs";
-- benchmarks/bench_lua_gc.py). A call without events (timers, an analyst's verdict)
-- counts as one event: after a full collection Lua's own next one waits for the heap
-- to double, so a worker that only took verdicts would keep them all alive that long.
-- An explicit step never starts a major collection (Lua 5.4 starts one only from a
-- step that allocation triggered, and ours leave no debt), so objects that lived
-- through two collections would pile up in the old generation for ever (hello-world:
-- 140 bytes per event): K.collect runs the major collection itself once the heap
-- has doubled since the last one, as Lua's own genmajormul of 100 would.
-- LuaJIT (incremental only) steps after every batch.
if not LUAJIT then collect("generational") end
local MAJOR_FLOOR_KB = 1024   -- no major collection below 2 MB of heap
local MINOR_EVERY = LUAJIT and 0 or 2048   -- events between minor collections, at most
local HEAP_KB_PER_EVENT = 16                -- ... and one per 16 KB of heap
local major_base_kb = MAJOR_FLOOR_KB
local since_minor = 0

-- after a batch of n events (0: timers or a verdict)
function K.collect(n)
  since_minor = since_minor + (n > 0 and n or 1)
  if since_minor < MINOR_EVERY and since_minor * HEAP_KB_PER_EVENT < collect("count") then return end
  since_minor = 0
  collect("step", 0)
  if collect("count") > 2 * major_base_kb then
    collect("collect")
    major_base_kb = math.max(collect("count"), MAJOR_FLOOR_KB)
  end
end

function K.memory_kb()
  return collect("count")
end

return K
