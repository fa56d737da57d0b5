"""nats:// output against a real nats-server: delivery acknowledged by PING/PONG,
token auth, oversized documents, a server restart, and the engine end to end."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson
import pytest

from mle.connectors import Context, build_sink
from mle.errors import ConfigError
from mle.sinks.nats import encode_batch, valid_subject
from tests.conftest import DATA, run_mle
from tests.outputs.helpers import NatsServer, NatsSubscriber, dead_letters, docs, wait_for


def nats_sink(ctx: Context, uri: str, **options: object):
    sink = build_sink("n", uri, {"reconnect_max": 0.2, **options}, 'outputs[1] (tag "n")', ctx)
    sink.open()
    return sink


def test_encoding_and_subjects():
    assert encode_batch(b"a.b", [b"{}", b"[1]"]) == b"PUB a.b 2\r\n{}\r\nPUB a.b 3\r\n[1]\r\nPING\r\n"
    assert valid_subject("suricata.eve") and not valid_subject("a.*") and not valid_subject("a..b")


def test_publishes_every_document(ctx: Context, nats: NatsServer):
    subscriber = NatsSubscriber(nats.port, "suricata.eve")
    try:
        sink = nats_sink(ctx, f"nats://127.0.0.1:{nats.port}/suricata.eve")
        for i in range(10):
            sink.write_batch(docs(100, start=100 * i))
        sink.close()
        wait_for(lambda: len(subscriber.messages) == 1000, what="1000 messages")
        assert subscriber.messages == docs(1000)
        assert sink.counts["published"] == 1000
    finally:
        subscriber.close()


def test_token_in_the_uri(ctx: Context, tmp_path: Path):
    server = NatsServer(extra=("--auth", "s3cret")).start()
    subscriber = NatsSubscriber(server.port, "eve", token="s3cret")
    try:
        sink = nats_sink(ctx, f"nats://s3cret@127.0.0.1:{server.port}/eve")
        sink.write_batch(docs(3))
        sink.close()
        wait_for(lambda: len(subscriber.messages) == 3, what="3 messages")
    finally:
        subscriber.close()
        server.stop()


def test_documents_over_max_payload_are_dead_lettered(ctx: Context, tmp_path: Path):
    config = tmp_path / "nats.conf"
    config.write_text("max_payload: 2048\n")
    server = NatsServer(extra=("-c", str(config))).start()
    subscriber = NatsSubscriber(server.port, "eve")
    try:
        sink = nats_sink(ctx, f"nats://127.0.0.1:{server.port}/eve")
        big = orjson.dumps({"n": 99, "pad": "x" * 4000})
        sink.write_batch([*docs(2), big, *docs(2, start=2)])
        sink.close()
        wait_for(lambda: len(subscriber.messages) == 4, what="4 messages")
        assert subscriber.messages == docs(4)
        dead = dead_letters(ctx)
        assert [(d["reason"], d["bytes"]) for d in dead] == [("too_big", len(big))]
        assert "max_payload of 2048" in dead[0]["detail"]
    finally:
        subscriber.close()
        server.stop()


def test_server_restart_blocks_then_delivers(ctx: Context, nats: NatsServer):
    subscriber = NatsSubscriber(nats.port, "eve")
    try:
        sink = nats_sink(ctx, f"nats://127.0.0.1:{nats.port}/eve")
        sink.write_batch(docs(5))
        wait_for(lambda: len(subscriber.messages) == 5, what="first batch")
        nats.stop()
        writer = threading.Thread(target=sink.write_batch, args=(docs(5, start=5),))
        writer.start()
        wait_for(lambda: sink.counts["retries"] >= 2, what="retries while the server is down")
        assert writer.is_alive()
        nats.start()
        wait_for(lambda: subscriber.ready.is_set(), what="subscriber back")
        writer.join(10)
        assert not writer.is_alive()
        sink.close()
        # at least once: the batch written during the outage arrives (it was never acknowledged before)
        wait_for(lambda: set(docs(10)) <= set(subscriber.messages), what="every document")
    finally:
        subscriber.close()


@pytest.mark.parametrize(("uri", "message"), [
    ("nats://127.0.0.1:4222", "needs a subject"),
    ("nats://127.0.0.1:4222/a.>", "needs a subject"),
    ("nats://127.0.0.1:x/a", "not a port"),
])
def test_bad_uris(ctx: Context, uri: str, message: str):
    with pytest.raises(ConfigError, match=message):
        build_sink("n", uri, {}, "outputs[1]", ctx)


CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://unused", default_analyzer = "pass" }} }}
analyzers = {{ {{ tag = "pass", script = "pass.lua", default_analyzer = "", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "nats://127.0.0.1:{port}/mle.eve" }} }}
"""
PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"


def test_through_the_engine(make_root, nats: NatsServer):
    subscriber = NatsSubscriber(nats.port, "mle.>")
    try:
        root = make_root(CONFIG.format(port=nats.port), analyzers={"pass.lua": PASS})
        result = run_mle("replay", str(DATA / "verify-sample.eve.json.gz"), "-r", str(root))
        assert result.returncode == 0, result.stderr.decode()
        wait_for(lambda: len(subscriber.messages) == 1080, what="1080 messages")
    finally:
        subscriber.close()
