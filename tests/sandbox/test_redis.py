"""What a script can do to the engine through its Redis connection.

Redis is the engine's state store, shared by every script of a worker over one
pipelined connection (and by every worker). Each test gets its own private Redis
(the same server the engine starts) and a pipe that fails fast instead of
reconnecting forever, so destructive commands cannot disturb other tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_py

from mle.errors import RedisUnavailable
from mle.redis.pipe import RedisAddress, RedisPipe
from mle.redis.server import PrivateRedis

VICTIM = """
local conn = hiredis.connect()
function loop(msg)
  conn:command("SET", "victim:key", "v" .. msg.seq)
  msg.victim_read = tostring(conn:command("GET", "victim:key"))
  dragonfly.output_event("out", msg)
end
"""


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisAddress]:
    server = PrivateRedis(tmp_path / "redis")
    address = server.start()
    yield address
    server.stop()


@pytest.fixture
def redis_pipe(private_redis: RedisAddress) -> Iterator[RedisPipe]:
    """Overrides the session pipe for this module: harness() connects to this test's own Redis."""
    stop = threading.Event()
    stop.set()  # fail instead of retrying forever
    pipe = RedisPipe(private_redis, timeout=1.0, stop=stop)
    pipe.connect()
    yield pipe
    pipe.close()


@pytest.fixture
def admin(private_redis: RedisAddress) -> Iterator[redis_py.Redis]:
    client = redis_py.Redis(**private_redis.redis_py_kwargs(), socket_timeout=5, decode_responses=True)
    yield client
    client.close()


def alive(address: RedisAddress) -> bool:
    pipe = RedisPipe(address, timeout=1.0)
    try:
        pipe.connect()
        return pipe.call("PING") == b"PONG"
    except RedisUnavailable:
        return False
    finally:
        pipe.close()


def victim_ok(p, admin: redis_py.Redis) -> None:
    """A later event: the victim's own SET/GET work, in database 0, as if nothing happened."""
    (docs,) = p.push({"probe": True})
    assert len(docs) == 1, docs
    seq = docs[0]["seq"]
    assert docs[0].get("victim_read") == f"v{seq}", f"the victim read {docs[0].get('victim_read')!r}"
    assert admin.get("victim:key") == f"v{seq}", "the victim's write did not land in database 0"
    assert p.worker.engine_errors == 0


def attack_source(body: str) -> str:
    return f"""
        local conn = hiredis.connect()
        function attack(msg)
          {body}
        end
    """


# --- arguments ------------------------------------------------------------------------------


def test_binary_arguments_are_refused_before_anything_is_sent(sandbox, admin):
    p = sandbox(attack_source('conn:command("SET", "k1", "ok"); conn:command("SET", "bin", "\\255\\254\\0")'),
                victim=VICTIM)
    p.assert_contained(p.attack(), "is not valid UTF-8")
    assert admin.exists("bin") == 0 and admin.get("k1") == "ok"
    victim_ok(p, admin)


def test_arguments_cannot_inject_protocol(sandbox, admin):
    admin.set("keep", "1")
    p = sandbox(attack_source("""
        msg.r1 = tostring(conn:command("SET", "k", "x\\r\\n*1\\r\\n$8\\r\\nFLUSHALL\\r\\n"))
        msg.r2 = tostring(conn:command_line("SET k2 a\\r\\nFLUSHALL\\r\\n"))
        msg.r3 = tostring(conn:command("SET", "k3\\r\\nFLUSHALL", "1"))
    """), victim=VICTIM)
    doc = p.attack()
    assert (doc["r1"], doc["r2"], doc["r3"]) == ("OK", "OK", "OK")
    assert admin.get("keep") == "1"
    assert admin.get("k") == "x\r\n*1\r\n$8\r\nFLUSHALL\r\n"
    victim_ok(p, admin)


def test_huge_arguments_cost_only_memory_within_the_ceiling(sandbox, admin):
    p = sandbox(attack_source("""
        msg.r = tostring(conn:command("SET", "big", string.rep("a", 8 * 1024 * 1024)))
    """), victim=VICTIM, max_memory_mb=48)
    assert p.attack()["r"] == "OK"
    assert admin.strlen("big") == 8 << 20
    victim_ok(p, admin)


def test_oversized_command_costs_only_its_event(sandbox, admin):
    p = sandbox(attack_source("""
        local s = string.rep("a", 12 * 1024 * 1024)
        conn:command("MSET", "x1", s, "x2", s, "x3", s)
    """), victim=VICTIM, max_memory_mb=48)
    attacked, probed = p.push({"attack": True}, {"probe": True})
    assert p.worker.engine_errors == 0, "the kernel failed: the whole batch was dead-lettered"
    assert len(attacked) == 1 and "redis command too large" in p.errors(attacked[0])[0]["error"]
    assert len(probed) == 1 and probed[0]["victim_read"] == f"v{probed[0]['seq']}"


# --- server administration -------------------------------------------------------------------


def test_shutdown_cannot_stop_the_state_store(sandbox, admin, private_redis):
    p = sandbox(attack_source('msg.r = tostring(conn:command("SHUTDOWN", "NOSAVE"))'), victim=VICTIM)
    p.push({"attack": True})
    assert alive(private_redis), "a script shut the engine's Redis down"
    victim_ok(p, admin)


def test_config_set_dir_cannot_write_files_outside(sandbox, admin, tmp_path):
    # the classic "CONFIG SET dir + dbfilename + SAVE" file write: CONFIG is refused to scripts
    # (and Valkey/Redis >= 7 would refuse these protected configs at run time anyway)
    target = tmp_path / "target"
    target.mkdir()
    before = admin.config_get("dir")["dir"]
    p = sandbox(attack_source(f"""
        msg.r1 = tostring(conn:command("CONFIG", "SET", "dir", "{target}"))
        msg.r2 = tostring(conn:command("CONFIG", "SET", "dbfilename", "pwn.lua"))
        conn:command("SET", "payload", "os.execute('id')")
        msg.r3 = tostring(conn:command("SAVE"))
    """), victim=VICTIM)
    doc = p.attack()
    p.assert_contained(doc, "redis CONFIG is not allowed in MLE scripts")
    assert list(target.iterdir()) == []
    assert admin.config_get("dir")["dir"] == before
    victim_ok(p, admin)


def test_debug_and_module_commands_are_refused(sandbox, admin, tmp_path):
    p = sandbox(attack_source(f"""
        local t0 = os.time()
        msg.debug = tostring(conn:command("DEBUG", "SLEEP", "3"))
        msg.module = tostring(conn:command("MODULE", "LOAD", "{tmp_path / 'evil.so'}"))
    """), victim=VICTIM)
    t0 = time.monotonic()
    doc = p.attack()
    assert time.monotonic() - t0 < 2
    p.assert_contained(doc, "redis DEBUG is not allowed in MLE scripts")
    victim_ok(p, admin)


def test_flushall_cannot_wipe_other_scripts_state(sandbox, admin):
    admin.set("other:state", "precious")
    p = sandbox(attack_source('msg.r = tostring(conn:command("FLUSHALL"))'), victim=VICTIM)
    p.attack()
    victim_ok(p, admin)
    assert admin.get("other:state") == "precious", "a script wiped the whole state store"


def test_client_kill_cannot_drop_other_connections(sandbox, admin, private_redis):
    other = RedisPipe(private_redis, timeout=1.0, stop=threading.Event())
    other._stop.set()
    other.connect()
    try:
        p = sandbox(attack_source('msg.r = tostring(conn:command("CLIENT", "KILL", "TYPE", "normal"))'),
                    victim=VICTIM)
        p.attack()
        try:
            reply = other.call("PING")
        except RedisUnavailable:
            reply = None
        assert reply == b"PONG", "another worker's connection was killed"
    finally:
        other.close()


def test_blocking_commands_cannot_stall_the_worker(sandbox, admin):
    p = sandbox(attack_source('msg.r = tostring(conn:command("BLPOP", "nothing", "1"))'), victim=VICTIM)
    t0 = time.monotonic()
    p.push({"attack": True})
    elapsed = time.monotonic() - t0
    victim_ok(p, admin)
    assert elapsed < 0.5, f"one script's BLPOP stalled the worker for {elapsed:.1f} s"


def test_server_side_scripts_cannot_stall_the_worker(sandbox, admin):
    spin = "local x = 0 for i = 1, 6e7 do x = x + i end return 1"  # ~0.5 s of server-side Lua
    p = sandbox(attack_source(f'msg.r = tostring(conn:command("EVAL", "{spin}", "0"))'), victim=VICTIM)
    t0 = time.monotonic()
    p.push({"attack": True})
    elapsed = time.monotonic() - t0
    victim_ok(p, admin)
    assert elapsed < 0.5, f"one script's EVAL stalled the worker for {elapsed:.1f} s"


CONNECTION_STATE = {
    "SELECT": '"SELECT", "1"',
    "MULTI": '"MULTI"',
    "SUBSCRIBE": '"SUBSCRIBE", "channel"',
    "CONFIG SET maxmemory": '"CONFIG", "SET", "maxmemory", "1"',
}


@pytest.mark.parametrize("name", sorted(CONNECTION_STATE))
def test_connection_state_commands_do_not_leak_into_other_scripts(sandbox, admin, name):
    p = sandbox(attack_source(f"msg.r = tostring(conn:command({CONNECTION_STATE[name]}))"), victim=VICTIM)
    p.push({"attack": True})
    victim_ok(p, admin)


def test_client_reply_off_cannot_wedge_the_pipe(sandbox, admin):
    p = sandbox(attack_source('msg.r = tostring(conn:command("CLIENT", "REPLY", "OFF"))'), victim=VICTIM)
    pipe = p.worker.engine._redis
    pipe._stop.clear()  # production behaviour: retry through failures
    pipe.timeout = 0.2
    pipe._sock.settimeout(0.2)
    pipe.max_backoff = 0.05
    worker = threading.Thread(target=p.push, args=({"attack": True},), daemon=True)
    worker.start()
    worker.join(2.0)
    stuck = worker.is_alive()
    pipe._stop.set()  # release it
    worker.join(5.0)
    assert not stuck, f"the worker was still re-sending after 2 s ({pipe.reconnects} reconnects)"
    victim_ok(p, admin)
