"""No way out of the sandbox: the process, the file system, bytecode, debug,
modules outside the root. Each attack runs under Lua 5.4 and LuaJIT."""

from __future__ import annotations

import os
from pathlib import Path

import lupa.lua54
import lupa.luajit21
import pytest

from tests.sandbox.conftest import lua_bytes

RUNTIMES = ["lua54", "luajit"]
SECRET = "TOPSECRET-7f3a"
PWN_MODULE = 'PWNED = "module outside the root ran"\nreturn "pwned"\n'


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Files next to (outside) the root: a secret and a Lua module."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "pwn.lua").write_text(PWN_MODULE)
    (folder / "sub").mkdir()
    (folder / "sub" / "pwn.lua").write_text(PWN_MODULE)
    return folder


def no_secret_anywhere(p) -> None:
    for lines in p.h.outputs.values():
        assert not any(SECRET.encode() in line for line in lines)


# --- the process --------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("call", ["os.exit()", "os.exit(0)", "os.exit(1, true)", "os.exit(true, true)"])
def test_os_exit_is_an_error_for_the_script(sandbox, runtime, call):
    # if os.exit reached the real one, this test process would be gone
    p = sandbox(f"function attack(msg) {call} end", runtime=runtime)
    p.assert_contained(p.attack(), "os.exit is not allowed")
    p.probe()


CALLS = {
    "os.execute": 'os.execute("touch MARKER")',
    "io.popen": 'io.popen("touch MARKER")',
    "os.remove": 'os.remove(VICTIM)',
    "os.rename": 'os.rename(VICTIM, MARKER)',
    "os.tmpname": "os.tmpname()",
    "os.setlocale": 'os.setlocale("C")',
    "io.tmpfile": "io.tmpfile()",
    "io.input": "io.input(VICTIM)",
    "io.output": "io.output(MARKER)",
    "io.read": 'io.read("a")',
    "io.stdout": 'io.stdout:write("x")',
    "loadfile": "loadfile(VICTIM)()",
    "dofile": "dofile(VICTIM)",
    "package.loadlib": 'package.loadlib("libc.so.6", "system")',
    "package.cpath": 'package.loaded.os.execute("touch MARKER")',
    "debug.getregistry": "debug.getregistry()",
    "debug.sethook": "debug.sethook()",
    "debug.getupvalue": "debug.getupvalue(dragonfly.analyze_event, 1)",
    "string.dump": "string.dump(attack)",
    "string_method_dump": "(''):dump()",
    "getfenv": "getfenv(0)",
    "setfenv": "setfenv(1, {})",
    "newproxy": "newproxy(true)",
    "jit": "jit.off()",
    "ffi": 'require("ffi").C.system("touch MARKER")',
    "require_debug": 'require("debug").getregistry()',
    "require_io": 'require("io").popen("touch MARKER")',
    "require_os": 'require("os").execute("touch MARKER")',
    "python": 'python.eval("1")',
}


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_process_and_file_functions_are_unavailable(sandbox, runtime, name):
    def prepare(root: Path) -> None:
        (root / "analyzers" / "victim.txt").write_text("still here\n")

    p = sandbox(f"""
        MARKER = {lua_bytes(b"MARKER")}
        function attack(msg)
          VICTIM = "analyzers/victim.txt"
          {CALLS[name]}
        end
    """, runtime=runtime, prepare=prepare)
    p.assert_contained(p.attack())
    assert (p.root / "analyzers" / "victim.txt").read_text() == "still here\n"
    for where in (p.root, p.root / "analyzers", Path.cwd()):
        assert not (where / "MARKER").exists()
    p.probe()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_environment_lists_no_dangerous_name(sandbox, runtime):
    p = sandbox("""
        local NAMES = {
          "os.execute", "os.remove", "os.rename", "os.tmpname", "os.setlocale", "io.popen", "io.tmpfile",
          "io.input", "io.output", "io.read", "io.stdin", "io.stdout", "io.stderr", "loadfile", "dofile",
          "package", "debug", "string.dump", "getfenv", "setfenv", "newproxy", "jit", "ffi", "module",
          "gcinfo", "python",
        }
        function attack(msg)
          local present = {}
          for _, name in ipairs(NAMES) do
            local v = _G
            for part in name:gmatch("[^.]+") do
              if type(v) ~= "table" then v = nil; break end
              v = v[part]
            end
            if v ~= nil then present[#present + 1] = name end
          end
          msg.present = table.concat(present, ",")
          msg.getenv = tostring(os.getenv("HOME")) .. "," .. tostring(os.getenv("PATH"))
          msg.gc = collectgarbage("stop") .. "," .. collectgarbage("collect") .. "," .. collectgarbage("step")
        end
    """, runtime=runtime)
    doc = p.attack()
    assert doc["present"] == ""
    assert doc["getenv"] == "nil,nil"
    assert doc["gc"] == "0,0,0"
    assert p.worker.engine.lua.execute("return collectgarbage('isrunning')") in (True, None)
    p.probe()


# --- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_io_open_for_writing_is_refused(sandbox, runtime):
    p = sandbox("""
        RESULTS = {}
        local MODES = { "w", "a", "r+", "w+", "a+", "wb", "ab", "rw" }
        local function try(where)
          for _, mode in ipairs(MODES) do
            for _, path in ipairs({ "analyzers/b.lua", "analyzers/new.lua", "new.lua" }) do
              local f, err = io.open(path, mode)
              if f then
                pcall(function() f:write("PWNED = true\\n"); f:close() end)
                RESULTS[#RESULTS + 1] = where .. " " .. mode .. " " .. path
              end
            end
          end
        end
        try("load")
        function setup() try("setup") end
        function attack(msg)
          try("loop")
          msg.opened = table.concat(RESULTS, ";")
        end
    """, runtime=runtime)
    victim_source = (p.root / "analyzers" / "b.lua").read_text()
    doc = p.attack()
    assert doc["opened"] == ""
    assert (p.root / "analyzers" / "b.lua").read_text() == victim_source
    assert not (p.root / "analyzers" / "new.lua").exists() and not (p.root / "new.lua").exists()
    p.probe()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_io_open_outside_the_script_folders_is_refused(sandbox, runtime, outside):
    def prepare(root: Path) -> None:
        (root / "analyzers" / "data.txt").write_text("inside\n")
        os.symlink(outside / "secret.txt", root / "analyzers" / "link.txt")
        os.symlink(outside, root / "analyzers" / "linkdir")
        (root / "private.txt").write_text(SECRET + "\n")

    paths = [
        str(outside / "secret.txt"), "../outside/secret.txt", "analyzers/../../outside/secret.txt",
        "analyzers/../private.txt", "private.txt", "config.lua", "analyzers/link.txt", "analyzers/linkdir/secret.txt",
        "/proc/self/environ", "/etc/passwd", "analyzers/\0../private.txt", "analyzers",
    ]
    table = ", ".join(lua_bytes(path.encode()) for path in paths)
    p = sandbox(f"""
        local PATHS = {{ {table} }}
        READ, CONTROL = {{}}, nil
        local function try()
          local f = io.open("analyzers/data.txt")
          CONTROL = f and f:read("a")
          for _, path in ipairs(PATHS) do
            local ok, f = pcall(io.open, path)
            if ok and f then READ[#READ + 1] = path .. "=" .. tostring(f:read("a")) end
            local ok2, it = pcall(io.lines, path)
            if ok2 and it then READ[#READ + 1] = path .. " lines=" .. tostring(it()) end
          end
        end
        function setup() try() end
        function attack(msg)
          msg.read = table.concat(READ, ";")
          msg.control = CONTROL
        end
    """, runtime=runtime, prepare=prepare)
    doc = p.attack()
    assert doc["control"] == "inside\n"  # io.open works in setup, inside the script folders
    assert doc["read"] == ""
    no_secret_anywhere(p)
    p.probe()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_io_open_in_loop_is_refused(sandbox, runtime):
    def prepare(root: Path) -> None:
        (root / "analyzers" / "data.txt").write_text("inside\n")

    p = sandbox("""
        function attack(msg)
          local f, err = io.open("analyzers/data.txt")
          msg.f, msg.err = tostring(f), err
          io.lines("analyzers/data.txt")
        end
    """, runtime=runtime, prepare=prepare)
    doc = p.attack()
    p.assert_contained(doc, "only available while a script loads and in setup()")
    p.probe()


# --- bytecode -------------------------------------------------------------------------------


def bytecode(runtime: str) -> bytes:
    module = lupa.lua54 if runtime == "lua54" else lupa.luajit21
    lua = module.LuaRuntime(encoding=None)
    code = lua.eval('string.dump(function() PWNED = "bytecode ran"; return "pwned" end)')
    assert code[:1] == b"\x1b"
    return code


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_binary_chunks_never_load(sandbox, runtime):
    code = bytecode(runtime)

    def prepare(root: Path) -> None:
        (root / "analyzers" / "bc.lua").write_bytes(code)
        (root / "analyzers" / "bc.dat").write_bytes(code)

    p = sandbox(f"""
        local BC = {lua_bytes(code)}
        LOADED = {{}}
        local function try(name, f, ...)
          local ok, chunk = pcall(f, ...)
          if ok and type(chunk) == "function" then pcall(chunk) end
          if ok and chunk == "pwned" then PWNED = PWNED or "require returned the chunk's value" end
          if PWNED then LOADED[#LOADED + 1] = name .. ": " .. tostring(PWNED); PWNED = nil end
        end
        local function attempts()
          try("load", load, BC)
          try("load b", load, BC, "x", "b")
          try("load bt", load, BC, "x", "bt")
          try("load env", load, BC, "x", "b", _G)
          try("loadstring", loadstring, BC)
          local i = 0
          try("reader", load, function() i = i + 1; return BC:sub(i, i) end)
          local j = 0
          try("reader2", load, function() j = j + 1; if j == 1 then return "" end; return j == 2 and BC or nil end)
          try("bom", load, "\\239\\187\\191" .. BC)
          try("shebang", load, "#!/x\\n" .. BC)
          try("text in b mode", load, "PWNED = 'text chunk in b mode'", "x", "b")
          try("require", require, "bc")
          local f = io.open("analyzers/bc.dat")
          if f then try("io.open + load", load, f:read("a")) end
        end
        function setup() attempts() end
        function attack(msg)
          attempts()
          msg.loaded = table.concat(LOADED, ",")
        end
    """, runtime=runtime, prepare=prepare)
    doc = p.attack()
    assert doc["loaded"] == "", doc
    p.probe()


# --- require --------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_require_resolves_only_inside_the_root(sandbox, runtime, outside):
    def prepare(root: Path) -> None:
        (root / "analyzers" / "helper.lua").write_text('return "helper"\n')
        os.symlink(outside / "pwn.lua", root / "analyzers" / "evil.lua")
        os.symlink(outside / "sub", root / "analyzers" / "evildir")

    names = [
        "../outside/pwn", "../../outside/pwn", "analyzers/../../outside/pwn", str(outside / "pwn"),
        str(outside / "pwn.lua"), "evil", "evildir.pwn", "evildir/pwn", "..outside.pwn", "....outside.pwn",
        "/etc/passwd", "../../../../../../etc/passwd", "analyzers/../config", "config",
        "mle/../../../../../../etc/passwd", "mle.../outside/pwn",
    ]
    table = ", ".join(lua_bytes(name.encode()) for name in names)
    p = sandbox(f"""
        local NAMES = {{ {table} }}
        function attack(msg)
          local loaded = {{}}
          for _, name in ipairs(NAMES) do
            local ok, v = pcall(require, name)
            if ok then loaded[#loaded + 1] = name end
          end
          msg.loaded = table.concat(loaded, ",")
          msg.pwned = tostring(PWNED)
          msg.control = require("helper")
        end
    """, runtime=runtime, prepare=prepare)
    doc = p.attack()
    assert doc["control"] == "helper"
    assert doc["loaded"] == "" and doc["pwned"] == "nil", doc
    p.probe()


def test_require_cannot_traverse_out_of_the_engine_library(sandbox, outside, tmp_path, monkeypatch):
    import importlib.resources

    from mle.lua import runtime

    real = importlib.resources.files("mle.lua")
    package = tmp_path / "site" / "mle" / "lua"
    (package / "lib").mkdir(parents=True)
    for name in ("kernel.lua", "sandbox.lua", "compat54.lua", "patterns.lua", "redisml.lua"):
        (package / name).write_text(real.joinpath(name).read_text())

    class Resources:
        @staticmethod
        def files(name: str) -> Path:
            assert name == "mle.lua"
            return package

    monkeypatch.setattr(runtime, "resources", Resources)
    depth = len(package.relative_to(tmp_path).parts) + 1  # lib/ .. up to tmp_path
    name = "mle/" + "../" * depth + "outside/pwn"
    p = sandbox(f"""
        function attack(msg)
          local ok, v = pcall(require, {lua_bytes(name.encode())})
          msg.ok, msg.pwned = ok, tostring(PWNED)
        end
    """)
    doc = p.attack()
    assert doc["pwned"] == "nil" and doc["ok"] is False, doc
    p.probe()


# --- dragonfly.http_get -------------------------------------------------------------------


def test_http_get_is_disabled_without_allow_network(sandbox, outside):
    p = sandbox(f"""
        function attack(msg) dragonfly.http_get("file://{outside / 'secret.txt'}") end
    """)
    p.assert_contained(p.attack(), "dragonfly.http_get is disabled")
    no_secret_anywhere(p)
    p.probe()


def test_http_get_cannot_read_local_files(sandbox, outside):
    p = sandbox(f"""
        function attack(msg)
          local body, err = dragonfly.http_get("file://{outside / 'secret.txt'}")
          msg.body, msg.err = body, err
        end
    """, a_opts=", allow_network = true")
    doc = p.attack()
    p.probe()
    assert doc.get("body") is None, f"http_get read a local file: {doc}"
    no_secret_anywhere(p)


def test_http_get_cannot_write_into_the_script_folders(sandbox, outside):
    p = sandbox(f"""
        function attack(msg)
          msg.ok = dragonfly.http_get("file://{outside / 'pwn.lua'}", "analyzers/b.lua")
        end
    """, a_opts=", allow_network = true")
    before = (p.root / "analyzers" / "b.lua").read_text()
    p.attack()
    p.probe()
    assert (p.root / "analyzers" / "b.lua").read_text() == before, "the victim's source was overwritten"
