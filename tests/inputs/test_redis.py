"""``redis://``: what Suricata's redis eve-log sends (LPUSH/RPUSH, PUBLISH, XADD field eve),
against a real server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
import pytest
import redis as redis_py
from drivers import RedisDriver
from input_peers import PersistentRedis, assert_close_ends_a_blocked_read, collect, drain, records, wait_for

from mle.errors import ConfigError


def seqs(lines: list[bytes]) -> list[int]:
    return [orjson.loads(x)["seq"] for x in lines]


@pytest.fixture
def sock(redis_server, redis_client) -> str:
    """The session server's unix socket, database flushed."""
    return redis_server.unix_socket


# --- lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "push"), [("list", "lpush"), ("lpush", "lpush"), ("rpush", "rpush")])
def test_list_keeps_suricatas_order_in_batches(make_source, redis_client, sock, mode: str, push: str) -> None:
    for record in records(600):  # Suricata: one LPUSH/RPUSH per record
        getattr(redis_client, push)("suricata", record)
    source = make_source(f"redis:///{mode}/suricata?socket={sock}")
    sizes = []
    lines: list[bytes] = []
    while len(lines) < 600:
        batch = source.read_batch(256, 0.05)
        sizes.append(len(batch.lines))
        lines.extend(batch.lines)
    assert seqs(lines) == list(range(600))
    assert sizes[:3] == [256, 256, 88]
    assert redis_client.llen("suricata") == 0
    assert source.stats.lines == 600


def test_empty_list_blocks_and_wakes_on_push(make_source, redis_client, sock) -> None:
    source = make_source(f"redis:///list/eve?socket={sock}")
    assert source.read_batch(256, 0.05).lines == []
    timer = threading.Timer(0.1, lambda: redis_client.lpush("eve", records(1)[0]))
    timer.start()
    started = time.monotonic()
    lines = collect(source, 1)
    assert seqs(lines) == [0] and time.monotonic() - started < 1.0


def test_default_key_is_suricatas(make_source, redis_client, sock) -> None:
    redis_client.lpush("suricata", records(1)[0])
    source = make_source(f"redis:///list?socket={sock}")
    assert source.target.key == "suricata"
    assert len(collect(source, 1)) == 1


def test_list_survives_a_server_restart(make_source, short_dir: Path) -> None:
    server = PersistentRedis(short_dir / "redis-l").start()
    try:
        client = redis_py.Redis(unix_socket_path=str(server.socket_path))
        source = make_source(f"redis:///list/suricata?socket={server.socket_path}")
        client.lpush("suricata", *records(3))
        assert len(collect(source, 3)) == 3
        server.stop()
        assert source.read_batch(256, 0.05).lines == []
        assert source.stats.errors["redis_disconnect"] == 1
        server.start()
        client = redis_py.Redis(unix_socket_path=str(server.socket_path))
        for record in records(3, start=3):
            client.lpush("suricata", record)
        assert seqs(collect(source, 3)) == [3, 4, 5]
        assert source.stats.errors["redis_reconnect"] == 1
    finally:
        server.stop()


# --- channels -----------------------------------------------------------------------------


def test_channel_receives_what_is_published_after_open(make_source, redis_client, sock) -> None:
    source = make_source(f"redis:///channel/suricata?socket={sock}")
    for record in records(300):
        assert redis_client.publish("suricata", record) == 1
    assert seqs(collect(source, 300)) == list(range(300))


def test_channel_pattern(make_source, redis_client, sock) -> None:
    source = make_source(f"redis:///publish/eve.*?socket={sock}", pattern=True)
    redis_client.publish("eve.sensor1", records(1)[0])
    redis_client.publish("other", records(1, start=1)[0])
    redis_client.publish("eve.sensor2", records(1, start=2)[0])
    assert seqs(collect(source, 2)) == [0, 2]
    assert drain(source, 0.1) == []


def test_channel_large_messages_arrive_whole(make_source, redis_client, sock) -> None:
    source = make_source(f"redis:///channel/suricata?socket={sock}")
    big = records(20, pad=300_000)
    for record in big:
        redis_client.publish("suricata", record)
    assert collect(source, 20) == big
    assert not source.stats.errors


def test_channel_resubscribes_after_a_server_restart(make_source, short_dir: Path) -> None:
    server = PersistentRedis(short_dir / "redis-c").start()
    try:
        source = make_source(f"redis:///channel/suricata?socket={server.socket_path}")
        server.client().publish("suricata", records(1)[0])
        assert len(collect(source, 1)) == 1
        server.stop()
        assert source.read_batch(256, 0.05).lines == []
        server.start()
        wait_for(lambda: dict(server.client().pubsub_numsub("suricata"))[b"suricata"] == 1
                 or source.read_batch(256, 0.05) is None, what="the new subscription")
        server.client().publish("suricata", records(1, start=1)[0])
        assert seqs(collect(source, 1)) == [1]
        assert source.stats.errors["redis_reconnect"] == 1
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["list", "channel", "stream"])
def test_password(make_source, short_dir: Path, mode: str) -> None:
    server = PersistentRedis(short_dir / "redis-p", password="s3cret").start()
    try:
        with pytest.raises(OSError, match="cannot reach redis"):
            make_source(f"redis:///{mode}/suricata?socket={server.socket_path}")
        source = make_source(f"redis://:s3cret@/{mode}/suricata?socket={server.socket_path}")
        RedisDriver(server.client(), str(server.socket_path), mode).send(records(2))
        assert seqs(collect(source, 2)) == [0, 1]
    finally:
        server.stop()


# --- streams --------------------------------------------------------------------------------


def xadd(client: redis_py.Redis, key: str, lines: list[bytes]) -> None:
    for line in lines:  # Suricata 8: XADD key [MAXLEN ~ n] * eve <record>
        client.xadd(key, {"eve": line})


def test_stream_acknowledges_only_in_on_done(make_source, redis_client, sock) -> None:
    xadd(redis_client, "suricata", records(10))
    source = make_source(f"redis:///stream/suricata?socket={sock}&group=mle")
    batch = source.read_batch(256, 0.05)
    assert seqs(batch.lines) == list(range(10))
    assert redis_client.xpending("suricata", "mle")["pending"] == 10
    batch.on_done()
    assert redis_client.xpending("suricata", "mle")["pending"] == 0
    assert source.reader.acked == 10


def test_stream_crash_before_ack_replays_to_the_next_run(make_source, redis_client, sock) -> None:
    xadd(redis_client, "suricata", records(5))
    first = make_source(f"redis:///xadd/suricata?socket={sock}", consumer="sensor1")
    assert len(first.read_batch(256, 0.05).lines) == 5  # read, never acknowledged: "crash"
    first.close()
    xadd(redis_client, "suricata", records(2, start=5))
    second = make_source(f"redis:///stream/suricata?socket={sock}", consumer="sensor1")
    lines = collect(second, 7)
    assert seqs(lines) == list(range(7))  # the pending ones first, then the new ones
    assert drain(second) == []
    assert redis_client.xpending("suricata", "mle")["pending"] == 0


def test_stream_claims_entries_of_a_dead_consumer(make_source, redis_client, sock) -> None:
    xadd(redis_client, "suricata", records(4))
    dead = make_source(f"redis:///stream/suricata?socket={sock}", consumer="gone", claim_idle_ms=0)
    assert len(dead.read_batch(256, 0.05).lines) == 4
    dead.close()
    time.sleep(0.02)  # idle longer than claim_idle_ms below
    heir = make_source(f"redis:///stream/suricata?socket={sock}", consumer="heir", claim_idle_ms=10)
    assert sorted(seqs(collect(heir, 4))) == [0, 1, 2, 3]
    assert redis_client.xpending("suricata", "mle")["pending"] == 0


def test_stream_start_dollar_skips_history(make_source, redis_client, sock) -> None:
    xadd(redis_client, "suricata", records(3))
    source = make_source(f"redis:///stream/suricata?socket={sock}&start=$")
    assert drain(source, 0.1) == []
    xadd(redis_client, "suricata", records(1, start=3))
    assert seqs(collect(source, 1)) == [3]


def test_stream_entry_without_the_field_is_dead_lettered_and_acknowledged(make_source, redis_client, sock,
                                                                          context) -> None:
    redis_client.xadd("suricata", {"other": b"x"})
    xadd(redis_client, "suricata", records(1))
    source = make_source(f"redis:///stream/suricata?socket={sock}")
    assert seqs(collect(source, 1)) == [0]
    assert source.stats.errors["stream_entry_without_field"] == 1
    assert redis_client.xpending("suricata", "mle")["pending"] == 0
    context.dead_letters.flush()
    dead = [orjson.loads(x) for x in context.dead_letters.path.read_bytes().splitlines()]
    assert [(d["reason"], d["line"]) for d in dead] == [("stream_entry_without_field", "other=x")]


def test_stream_custom_field(make_source, redis_client, sock) -> None:
    redis_client.xadd("s", {"json": records(1)[0]})
    source = make_source(f"redis:///stream/s?socket={sock}&field=json")
    assert seqs(collect(source, 1)) == [0]


def test_stream_server_restart_loses_nothing_acknowledged_or_pending(make_source, short_dir: Path) -> None:
    """Three batches are out when the server restarts: one acknowledged before, one
    whose outputs finish during the outage, one still being processed after the
    reconnect. Every entry once, nothing left pending."""
    server = PersistentRedis(short_dir / "redis-s").start()
    try:
        client = redis_py.Redis(unix_socket_path=str(server.socket_path))
        xadd(client, "suricata", records(30))
        source = make_source(f"redis:///stream/suricata?socket={server.socket_path}&consumer=c1")
        first, second, third = (source.read_batch(10, 0.05) for _ in range(3))
        assert seqs(first.lines + second.lines + third.lines) == list(range(30))
        first.on_done()  # acknowledged before the restart
        server.stop()
        second.on_done()  # the outputs finish during the outage: the XACK must wait
        assert source.stats.errors["redis_ack_deferred"] == 10
        assert source.read_batch(256, 0.05).lines == []
        server.start()
        client = redis_py.Redis(unix_socket_path=str(server.socket_path))
        assert client.xpending("suricata", "mle")["pending"] == 20  # the server kept the pending list
        xadd(client, "suricata", records(5, start=30))
        lines = collect(source, 5)
        assert seqs(lines) == list(range(30, 35))  # no replay of what is in flight or was processed
        assert drain(source) == []
        assert client.xpending("suricata", "mle")["pending"] == 10  # the third batch, still in flight
        third.on_done()
        assert client.xpending("suricata", "mle")["pending"] == 0
        assert source.stats.errors["redis_reconnect"] == 1
    finally:
        server.stop()


def test_stream_server_killed_with_entries_in_flight_replays_after_mle_restart(make_source, short_dir: Path) -> None:
    server = PersistentRedis(short_dir / "redis-k").start()
    try:
        client = redis_py.Redis(unix_socket_path=str(server.socket_path))
        xadd(client, "suricata", records(6))
        uri = f"redis:///stream/suricata?socket={server.socket_path}&consumer=c1"
        crashed = make_source(uri)
        assert len(crashed.read_batch(256, 0.05).lines) == 6
        server.stop(kill=True)
        crashed.close()  # MLE dies too before its outputs finished
        server.start()
        restarted = make_source(uri)
        assert seqs(collect(restarted, 6)) == list(range(6))
    finally:
        server.stop()


def test_acknowledgements_after_close_still_happen(make_source, redis_client, sock) -> None:
    """The engine closes inputs, then drains: on_done runs after close()."""
    xadd(redis_client, "suricata", records(3))
    source = make_source(f"redis:///stream/suricata?socket={sock}")
    batch = source.read_batch(256, 0.05)
    source.close()
    batch.on_done()
    assert redis_client.xpending("suricata", "mle")["pending"] == 0


# --- errors -----------------------------------------------------------------------------------


def test_unreachable_server_names_the_entry(make_source, short_dir: Path) -> None:
    with pytest.raises(OSError, match=r'inputs\[1\] \(tag "eve"\): cannot reach redis unix:'):
        make_source(f"redis:///list/x?socket={short_dir}/nobody.sock")


@pytest.mark.parametrize(("uri", "options", "message"), [
    ("redis://127.0.0.1:6379", {}, "needs a mode and a key"),
    ("redis://127.0.0.1:6379/queue/x", {}, 'unknown Redis mode "queue"'),
    ("redis://127.0.0.1:6379/list/x?grup=g", {}, 'unknown URI parameter "grup"'),
    ("redis://127.0.0.1:6379/list/x", {"group": "g"}, '"group" applies to Redis stream inputs only'),
    ("redis://127.0.0.1:6379/stream/x", {"push": "rpush"}, '"push" applies to Redis list inputs only'),
    ("redis://127.0.0.1:6379/stream/x?start=1", {}, '"start" must be "0"'),
])
def test_config_errors(make_source, uri: str, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_source(uri, open=False, **options)


def test_wrong_key_type_is_counted_and_retried(make_source, redis_client, sock) -> None:
    redis_client.set("suricata", "not a list")
    source = make_source(f"redis:///list/suricata?socket={sock}")
    assert source.read_batch(256, 0.05).lines == []
    assert source.stats.errors["redis_error"] == 1
    redis_client.delete("suricata")
    redis_client.lpush("suricata", records(1)[0])
    assert len(collect(source, 1)) == 1


def test_close_returns_promptly_while_blocked(make_source, redis_client, sock) -> None:
    assert_close_ends_a_blocked_read(make_source(f"redis:///stream/s?socket={sock}"))

