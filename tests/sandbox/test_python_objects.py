"""Events are Python dicts and lists reached through lupa's attribute handlers:
keys and 1-based indexes only. No Python attribute, method or helper is reachable
from them or from anything else a script can see. Lua 5.4 and LuaJIT."""

from __future__ import annotations

import json

import pytest

RUNTIMES = ["lua54", "luajit"]
EVENT = {"dns": {"rrname": "example.com", "answers": [{"rdata": "1.2.3.4"}]}, "answers": [1, 2, 3]}

# expressions that reach for Python attributes; each must raise or give nil
REACH = {
    "msg.__class__": "msg.__class__",
    "msg.__dict__": "msg.__dict__",
    "msg.keys": "msg.keys",
    "msg.items": "msg.items",
    "msg.get": "msg.get",
    "msg.copy": "msg.copy",
    "msg.pop": "msg.pop",
    "msg.__getitem__": "msg.__getitem__",
    "msg.__init__.__globals__": "msg.__init__.__globals__",
    "call msg.keys()": "msg.keys()",
    "nested dns.__class__": "msg.dns.__class__",
    "nested dns.items": "msg.dns.items",
    "deep answers.__class__": "msg.dns.answers[1].__class__",
    "list.append": "msg.answers.append",
    "list.__len__": "msg.answers.__len__",
    "list.__class__": "msg.answers.__class__",
    "list[0]": "msg.answers[0]",
    "list[-1]": "msg.answers[-1]",
    "list['1']": "msg.answers['1']",
    "list[1.5]": "msg.answers[1.5]",
    "cjson.null.__class__": "cjson.null.__class__",
    "cjson.null.__repr__": "cjson.null.__repr__",
    "cjson_safe.null.__class__": "cjson_safe.null.__class__",
    "marshal.encode.__self__": "marshal.encode.__self__",
    "marshal.encode.__func__": "marshal.encode.__func__",
    "marshal.encode.__globals__": "marshal.encode.__globals__",
    "marshal.decode.__code__": "marshal.decode.__code__",
    "marshal.decode.__call__": "marshal.decode.__call__",
    "dragonfly.analyze_event.__globals__": "dragonfly.analyze_event.__globals__",
    "hiredis.connect.__self__": "hiredis.connect.__self__",
    "pairs iterator state": "select(2, pairs(msg)).__class__",
    "pairs iterator function": "select(1, pairs(msg)).__self__",
    "exception .__traceback__": 'select(2, pcall(marshal.decode, "\\193")).__traceback__',
    "exception .args": 'select(2, pcall(marshal.decode, "\\193")).args',
    "exception .with_traceback": 'select(2, pcall(marshal.decode, "\\193")).with_traceback',
    "exception .__context__": 'select(2, pcall(marshal.decode, "\\193")).__context__',
    "python global": "python",
    "python.builtins": "python.builtins",
    "_G.python": "_G.python",
    "load python": 'load("return python")()',
}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_python_attributes_are_unreachable(sandbox, runtime):
    exprs = sorted(REACH.items())
    body = "\n".join(
        f'  ok, v = pcall(function() return {expr} end); if ok and v ~= nil then reached[#reached + 1] = '
        f'{json.dumps(name)} .. "=" .. tostring(v) end'
        for name, expr in exprs
    )
    p = sandbox(f"""
        function attack(msg)
          local reached, ok, v = {{}}
        {body}
          msg.reached = table.concat(reached, "; ")
          msg.control = msg.dns.answers[1].rdata .. " " .. msg.answers[3]
        end
    """, runtime=runtime)
    doc = p.attack(EVENT)
    assert doc["control"] == "1.2.3.4 3"  # keys and indexes do work
    assert doc["reached"] == "", doc["reached"]
    p.probe()


SETS = {
    "cjson.null.x": "cjson.null.x = 1",
    "marshal.encode.__name__": 'marshal.encode.__name__ = "x"',
    "exception attribute": 'local _, e = pcall(marshal.decode, "\\193"); e.args = 1',
    "list with a string key": "msg.answers.append = 1",
    "list past its end": "msg.answers[100] = 1",
    "list at 0": "msg.answers[0] = 1",
    "setmetatable on an event": "setmetatable(msg, {})",
    "rawset on an event": "rawset(msg, 'x', 1)",
    "rawget on an event": "rawget(msg, 'dns')",
    "next on an event": "next(msg)",
    "python metatable": "getmetatable(msg).__index = function() return 1 end",
    "python metatable via rawset": "rawset(getmetatable(msg), '__index', nil)",
}


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", sorted(SETS))
def test_writes_beyond_event_data_raise(sandbox, runtime, name):
    p = sandbox(f"function attack(msg) {SETS[name]} end", runtime=runtime)
    p.assert_contained(p.attack(EVENT))
    p.probe()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_python_object_metatable_is_locked(sandbox, runtime):
    p = sandbox("""
        function attack(msg)
          msg.mt = tostring(getmetatable(msg)) .. " " .. tostring(getmetatable(msg.dns))
            .. " " .. tostring(getmetatable(cjson.null)) .. " " .. tostring(getmetatable(marshal.encode))
          msg.len = #msg.answers
          msg.type = type(msg) .. " " .. type(msg.answers) .. " " .. type(cjson.null)
        end
    """, runtime=runtime)
    doc = p.attack(EVENT)
    assert doc["mt"] == "python object python object python object python object"
    assert doc["len"] == 3 and doc["type"] == "table table table"
    p.probe()


def test_only_known_python_objects_are_reachable_from_a_script(sandbox):
    # Walk everything a script can reach from its environment (tables, metatables that are
    # not locked, values inside Python containers) and list every Python object met.
    p = sandbox("""
        local function is_python(v)
          return type(v) == "table" and not pcall(rawget, v, 1)
        end
        function attack(msg)
          local found, seen = {}, {}
          local function walk(v, path, depth)
            if is_python(v) then
              found[#found + 1] = path
              return
            end
            if depth > 8 or seen[v] then return end
            if type(v) ~= "table" then return end
            seen[v] = true
            local mt = getmetatable(v)
            if type(mt) == "table" then walk(mt, path .. "<mt>", depth + 1) end
            for k, x in next, v do
              if type(k) == "table" then walk(k, path .. "[key]", depth + 1) end
              walk(x, path .. "." .. tostring(k), depth + 1)
            end
          end
          walk(_G, "_G", 0)
          walk(cjson.new(), "cjson.new()", 0)
          walk(hiredis.connect() or {}, "connection", 0)
          walk(cjson.decode('{"a":[1,{"b":null}]}'), "decoded", 0)
          walk(marshal.decode(marshal.encode({ a = { 1 } })), "unmarshalled", 0)
          walk({ pcall(marshal.decode, "\\193") }, "python_error", 0)
          walk({ pcall(cjson.decode, "{") }, "cjson_error", 0)
          walk({ pairs(msg) }, "pairs(msg)", 0)
          table.sort(found)
          msg.found = table.concat(found, " ")
        end
    """)
    doc = p.attack()
    expected = {
        "_G.cjson.null", "_G.cjson_safe.null", "_G.marshal.decode", "_G.marshal.encode",
        "cjson.new().null", "decoded.a.2.b", "python_error.2", "pairs(msg).2",
    }
    found = set(doc["found"].split())
    assert found == expected, f"unexpected Python objects: {found - expected}; missing: {expected - found}"
    p.probe()
