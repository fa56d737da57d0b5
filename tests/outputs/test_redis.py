"""redis:// outputs against a real Redis-compatible server: list, channel, stream,
unix socket and TCP forms, an outage, and refused commands."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis as redis_py

from mle.connectors import Context, build_sink
from mle.errors import ConfigError
from mle.redis.pipe import RedisAddress
from mle.redis.server import find_server_binary
from mle.sinks.redis import RedisTarget, parse_redis_uri
from tests.conftest import DATA, run_mle
from tests.outputs.helpers import docs, free_port, wait_for


def redis_sink(ctx: Context, uri: str, **options: object):
    sink = build_sink("r", uri, {"reconnect_max": 0.2, **options}, 'outputs[1] (tag "r")', ctx)
    sink.open()
    return sink


def socket_uri(address: RedisAddress, kind: str, name: str) -> str:
    assert address.unix_socket
    return f"redis://{address.unix_socket}/{kind}/{name}"


class TcpRedis:
    """A Redis-compatible server on a TCP port (stop, then start again on the same port)."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.process: subprocess.Popen | None = None

    def start(self) -> TcpRedis:
        self.process = subprocess.Popen(
            [find_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_py.Redis(port=self.port)
        wait_for(lambda: _pings(client), what="redis on TCP")
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _pings(client: redis_py.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis_py.ConnectionError:
        return False


@pytest.fixture
def tcp_redis(tmp_path: Path) -> Iterator[TcpRedis]:
    server = TcpRedis(tmp_path).start()
    yield server
    server.stop()


def test_parse_uri_forms(tmp_path: Path):
    target, extra = parse_redis_uri("u:p@h:7000/list/a/b", "x")
    assert target == RedisTarget(kind="list", name="a/b", host="h", port=7000, user="u", password="p")
    assert extra == {}
    assert parse_redis_uri("h/xadd?db=3&maxlen=10", "x") == (
        RedisTarget(kind="stream", name="suricata", host="h", db=3), {"maxlen": 10})
    target, extra = parse_redis_uri("/rpush/eve?socket=redis.sock", "x", tmp_path)  # the input's form
    assert (target.unix_socket, target.host, target.kind, target.name) == (str(tmp_path / "redis.sock"), None,
                                                                          "list", "eve")
    assert extra == {"push": "rpush"}
    socket_form, _ = parse_redis_uri("/var/run/redis/redis.sock/publish/ch", "x")
    assert (socket_form.unix_socket, socket_form.kind, socket_form.name) == (
        "/var/run/redis/redis.sock", "channel", "ch")


@pytest.mark.parametrize(("uri", "options", "message"), [
    ("redis://h:6379/set/k", {}, 'unknown Redis mode "set"'),
    ("redis:///tmp/r.sock", {}, "needs a mode and a key"),
    ("redis://h/list/k?database=1", {}, 'unknown URI parameter "database"'),
    ("redis://h/list/k?db=one", {}, "must be a number"),
    ("redis://h/stream/k", {"push": "rpush"}, "lists only"),
    ("redis://h/list/k", {"push": "append"}, '"push" must be'),
])
def test_bad_uris(ctx: Context, uri: str, options: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        build_sink("r", uri, options, "outputs[1]", ctx)


def test_the_inputs_socket_form(ctx: Context, redis_server: RedisAddress, redis_client: redis_py.Redis):
    sink = redis_sink(ctx, f"redis:///rpush/eve?socket={redis_server.unix_socket}")
    sink.write_batch(docs(3))
    sink.close()
    assert redis_client.lrange("eve", 0, -1) == docs(3)


def test_list_lpush_by_default_over_a_unix_socket(ctx: Context, redis_server: RedisAddress,
                                                  redis_client: redis_py.Redis):
    sink = redis_sink(ctx, socket_uri(redis_server, "list", "eve"))
    sink.write_batch(docs(3))
    sink.write_batch(docs(2, start=3))
    sink.close()
    # LPUSH (Suricata's default): the newest is at the head, RPOP gives the oldest first
    assert [redis_client.rpop("eve") for _ in range(5)] == docs(5)


def test_list_rpush_in_chunks(ctx: Context, redis_server: RedisAddress, redis_client: redis_py.Redis):
    sink = redis_sink(ctx, socket_uri(redis_server, "list", "big"), push="rpush")
    lines = docs(2500)
    sink.write_batch(lines)
    sink.close()
    assert redis_client.lrange("big", 0, -1) == lines


def test_channel_reaches_subscribers_and_counts_unheard(ctx: Context, redis_server: RedisAddress,
                                                      redis_client: redis_py.Redis):
    sink = redis_sink(ctx, socket_uri(redis_server, "channel", "alerts"))
    sink.write_batch(docs(2))  # nobody listens yet
    assert sink.counts["unheard"] == 2
    pubsub = redis_client.pubsub()
    pubsub.subscribe("alerts")
    wait_for(lambda: pubsub.get_message(timeout=0.05), what="subscription confirmed")
    sink.write_batch(docs(5, start=2))
    got: list[bytes] = []

    def received() -> bool:
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] == "message":
            got.append(message["data"])
        return len(got) == 5

    wait_for(received, what="5 messages")
    sink.close()
    pubsub.close()
    assert got == docs(5, start=2)
    assert sink.counts["unheard"] == 2


def test_stream_with_approximate_maxlen_and_field(ctx: Context, redis_server: RedisAddress,
                                                  redis_client: redis_py.Redis):
    sink = redis_sink(ctx, socket_uri(redis_server, "stream", "s"), maxlen=500, field="doc")
    for i in range(20):
        sink.write_batch(docs(100, start=100 * i))
    sink.close()
    length = redis_client.xlen("s")
    assert 500 <= length < 700  # MAXLEN ~ trims whole nodes only
    entries = redis_client.xrange("s")
    assert entries[-1][1] == {b"doc": docs(1, start=1999)[0]}
    assert [orjson.loads(e[1][b"doc"])["n"] for e in entries] == list(range(2000 - length, 2000))


def test_tcp_form_and_an_outage(ctx: Context, tcp_redis: TcpRedis):
    sink = redis_sink(ctx, f"redis://127.0.0.1:{tcp_redis.port}/list/eve?db=2", push="rpush")
    sink.write_batch(docs(3))
    client = redis_py.Redis(port=tcp_redis.port, db=2)
    assert client.llen("eve") == 3
    tcp_redis.stop()
    writer = threading.Thread(target=sink.write_batch, args=(docs(4, start=3),))
    writer.start()
    wait_for(lambda: sink.counts["retries"] >= 2, what="retries while Redis is down")
    assert writer.is_alive(), "write_batch returned while Redis was down"
    tcp_redis.start()  # empty again (no persistence): only what came after counts
    writer.join(10)
    assert not writer.is_alive()
    sink.close()
    assert client.lrange("eve", 0, -1) == docs(4, start=3)
    client.close()


def test_refused_batch_raises_for_the_dead_letter_file(ctx: Context, redis_server: RedisAddress,
                                                       redis_client: redis_py.Redis):
    redis_client.set("taken", "a string")
    sink = redis_sink(ctx, socket_uri(redis_server, "list", "taken"))
    with pytest.raises(OSError, match="WRONGTYPE"):
        sink.write_batch(docs(2))
    sink.close()


CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://unused", default_analyzer = "pass" }} }}
analyzers = {{ {{ tag = "pass", script = "pass.lua", default_analyzer = "", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "{uri}", push = "rpush" }} }}
"""
PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"


def test_through_the_engine(make_root, redis_server: RedisAddress, redis_client: redis_py.Redis):
    root = make_root(CONFIG.format(uri=socket_uri(redis_server, "list", "mle")), analyzers={"pass.lua": PASS})
    result = run_mle("replay", str(DATA / "verify-sample.eve.json.gz"), "-r", str(root))
    assert result.returncode == 0, result.stderr.decode()
    assert redis_client.llen("mle") == 1080
