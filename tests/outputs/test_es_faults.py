"""The Elasticsearch output against a scripted local HTTP server, for what a real
cluster will not do on demand: 429/502/503 answers, hanging connections, mixed
item failures, data streams, oversized requests, TLS, and a long outage with the
disk spill."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import orjson
import pytest

from mle.connectors import Context, build_sink
from mle.errors import ConfigError
from mle.sinks.elasticsearch.encode import document_id
from tests.outputs.helpers import (
    StubES,
    StubRequest,
    accept_all,
    bulk_answer,
    dead_letters,
    docs,
    status,
    wait_for,
)

FAST = {"retry_initial": 0.01, "retry_max": 0.05, "timeout": 2.0, "flush_interval": 0.05, "close_timeout": 5.0}


@pytest.fixture
def stubs():
    """Start stubs with stubs(script); all are closed after the test."""
    started: list[StubES] = []

    def start(script, tls=None) -> StubES:
        stub = StubES(script, tls)
        started.append(stub)
        return stub

    yield start
    for stub in started:
        stub.close()


def es_sink(ctx: Context, stub: StubES, index: str = "mle", **options: object):
    uri = stub.url.replace("http", "elasticsearch+http", 1) + "/" + index
    sink = build_sink("es", uri, {**FAST, **options}, 'outputs[1] (tag "es")', ctx)
    sink.open()
    return sink


def sent_numbers(stub: StubES) -> list[int]:
    return [orjson.loads(doc)["n"] for _, doc in stub.bulk_items()]


@pytest.mark.parametrize("code", [429, 502, 503, 504])
def test_busy_or_unavailable_cluster_is_retried(ctx: Context, stubs, code: int):
    stub = stubs([status(code), status(code), accept_all])
    sink = es_sink(ctx, stub)
    sink.write_batch(docs(10))
    assert sink.flush(10)
    sink.close()
    assert sink.counts[f"http_{code}"] == 2 and sink.counts["delivered"] == 10
    assert len(stub.requests) == 3
    assert sent_numbers(stub) == list(range(10)) * 3  # the same request, three times
    assert dead_letters(ctx) == []


def test_a_hanging_connection_times_out_and_is_retried(ctx: Context, stubs):
    stub = stubs([lambda request: None, accept_all])
    sink = es_sink(ctx, stub, timeout=0.3)
    sink.write_batch(docs(5))
    assert sink.flush(10)
    sink.close()
    assert sink.counts["connection_errors"] == 1 and sink.counts["delivered"] == 5


def test_mixed_items_in_a_200(ctx: Context, stubs):
    mapping_error = {"type": "mapper_parsing_exception", "reason": "failed to parse field [dest_port] of type [long]"}
    first = bulk_answer([(201, None), (400, mapping_error), (409, {"type": "version_conflict_engine_exception"}),
                         (429, {"type": "es_rejected_execution_exception"})])
    stub = stubs([lambda r: (200, first), accept_all])
    sink = es_sink(ctx, stub)
    batch = docs(4)
    sink.write_batch(batch)
    assert sink.flush(10)
    sink.close()
    assert (sink.counts["delivered"], sink.counts["duplicates"], sink.counts["dead_lettered"]) == (2, 1, 1)
    assert sink.counts["item_409"] == 1 and sink.counts["retried_items"] == 1
    assert [orjson.loads(d)["n"] for _, d in stub.requests[1].items] == [3]  # only the 429 item again
    dead = dead_letters(ctx)
    assert len(dead) == 1
    assert dead[0]["reason"] == "es_rejected" and dead[0]["line"] == batch[1].decode()
    assert dead[0]["detail"] == "400 mapper_parsing_exception: failed to parse field [dest_port] of type [long]"
    assert dead[0]["source"] == "output es"


def test_conflict_on_index_is_an_error_not_a_duplicate(ctx: Context, stubs):
    stub = stubs([lambda r: (200, bulk_answer([(409, {"type": "version_conflict_engine_exception"})], "index"))])
    sink = es_sink(ctx, stub, action="index")
    sink.write_batch(docs(1))
    sink.close()
    assert sink.counts["duplicates"] == 0 and [d["reason"] for d in dead_letters(ctx)] == ["es_rejected"]


def test_server_errors_are_retried_a_limited_number_of_times(ctx: Context, stubs):
    stub = stubs([status(500, b'{"error":{"type":"exception","reason":"boom"},"status":500}')])
    sink = es_sink(ctx, stub, max_retries=2)
    sink.write_batch(docs(3))
    assert sink.flush(10)
    sink.close()
    assert len(stub.requests) == 3
    dead = dead_letters(ctx)
    assert [d["reason"] for d in dead] == ["es_error"] * 3
    assert "HTTP 500: exception: boom" in dead[0]["detail"]


def test_a_rejected_request_dead_letters_its_documents(ctx: Context, stubs):
    body = (b'{"error":{"type":"illegal_argument_exception","reason":"The bulk request must be terminated"},'
            b'"status":400}')
    stub = stubs([status(400, body)])
    sink = es_sink(ctx, stub)
    sink.write_batch(docs(2))
    sink.close()
    dead = dead_letters(ctx)
    assert [d["reason"] for d in dead] == ["es_request_rejected"] * 2
    assert dead[0]["detail"] == "HTTP 400: illegal_argument_exception: The bulk request must be terminated"


def test_too_large_requests_are_split(ctx: Context, stubs):
    def small_only(request: StubRequest):
        return accept_all(request) if len(request.items) <= 2 else (413, b"Request Entity Too Large")

    stub = stubs([small_only])
    sink = es_sink(ctx, stub, bulk_max_docs=100)
    sink.write_batch(docs(7))
    assert sink.flush(10)
    sink.close()
    assert sink.counts["delivered"] == 7
    accepted = [orjson.loads(d)["n"] for r in stub.requests if len(r.items) <= 2 for _, d in r.items]
    assert sorted(accepted) == list(range(7))


def test_batches_by_count_bytes_and_time(ctx: Context, stubs):
    stub = stubs([accept_all])
    sink = es_sink(ctx, stub, bulk_max_docs=10, bulk_max_bytes=1_000_000, flush_interval=0.2)
    sink.write_batch(docs(25))
    wait_for(lambda: len(stub.requests) == 3, what="the time-based flush of the last 5")
    assert sorted(len(r.items) for r in stub.requests) == [5, 10, 10]
    sink.write_batch(docs(10, start=25, pad=200))  # ~2.6 kB of items
    sink.close()
    by_bytes = es_sink(ctx, stub, bulk_max_docs=1000, bulk_max_bytes=1000)
    before = len(stub.requests)
    by_bytes.write_batch(docs(10, pad=200))
    by_bytes.close()
    sizes = [len(r.body) for r in stub.requests[before:]]
    assert len(sizes) == 4 and max(sizes) <= 1000


def test_data_stream_uses_create(ctx: Context, stubs):
    def data_stream(request: StubRequest):  # what Elasticsearch answers for a data stream
        results = []
        for action, doc in request.items:
            kind = next(iter(action))
            if kind != "create":
                reason = "only write ops with an op_type of create are allowed in data streams"
                results.append((400, {"type": "illegal_argument_exception", "reason": reason}))
            elif b'"@timestamp"' not in doc:
                results.append((400, {"type": "illegal_argument_exception",
                                      "reason": "data stream timestamp field [@timestamp] is missing"}))
            else:
                results.append((201, None))
        return 200, bulk_answer(results)

    stub = stubs([data_stream])
    sink = es_sink(ctx, stub, index="logs-suricata.eve-mle", data_stream=True)
    good = [orjson.dumps({"@timestamp": "2026-11-23T06:00:00Z", "n": i}) for i in range(3)]
    sink.write_batch([*good, b'{"n":3}'])
    sink.close()
    assert sink.counts["delivered"] == 3
    actions = [a for a, _ in stub.bulk_items()]
    assert actions[0] == {"create": {"_index": "logs-suricata.eve-mle", "_id": document_id(good[0])}}
    dead = dead_letters(ctx)
    assert [d["line"] for d in dead] == ['{"n":3}'] and "@timestamp" in dead[0]["detail"]
    with pytest.raises(ConfigError, match="only takes"):
        es_sink(ctx, stub, index="logs-x", data_stream=True, action="index")


def test_credentials_reach_the_server(ctx: Context, stubs):
    stub = stubs([accept_all])
    uri = stub.url.replace("http://", "elasticsearch+http://elastic:s3cret@", 1) + "/mle"
    sink = build_sink("es", uri, FAST, "outputs[1]", ctx)
    sink.open()
    sink.write_batch(docs(1))
    sink.close()
    keyed = es_sink(ctx, stub, api_key="aWQ6a2V5")
    keyed.write_batch(docs(1))
    keyed.close()
    assert stub.requests[0].headers["Authorization"] == "Basic ZWxhc3RpYzpzM2NyZXQ="
    assert stub.requests[1].headers["Authorization"] == "ApiKey aWQ6a2V5"
    assert stub.requests[0].headers["Content-Type"] == "application/x-ndjson"
    assert stub.requests[0].path.startswith("/_bulk?filter_path=")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate for 127.0.0.1, server key), made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    run = lambda *a: subprocess.run(["openssl", *a], cwd=d, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=mle test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "server.pem", d / "server.key"


def test_tls_with_a_ca_file_or_verification_off(ctx: Context, stubs, certificates):
    ca, cert, key = certificates
    stub = stubs([accept_all], tls=(cert, key))
    assert stub.url.startswith("https://")
    trusted = es_sink(ctx, stub, ca_file=str(ca))
    trusted.write_batch(docs(2))
    trusted.close()
    unverified = es_sink(ctx, stub, verify=False)
    unverified.write_batch(docs(2, start=2))
    unverified.close()
    assert trusted.counts["delivered"] == 2 and unverified.counts["delivered"] == 2
    untrusted = es_sink(ctx, stub, close_timeout=0.5, spill_max_bytes=0)
    untrusted.write_batch(docs(2, start=4))
    untrusted.close()  # the certificate is not trusted: never delivered, dead-lettered at shutdown
    assert untrusted.counts["connection_errors"] >= 1 and untrusted.counts["delivered"] == 0
    assert [d["reason"] for d in dead_letters(ctx)] == ["undelivered_at_shutdown"] * 2
    assert sorted(sent_numbers(stub)) == [0, 1, 2, 3]


def test_without_spill_an_outage_is_backpressure(ctx: Context, stubs):
    stub = stubs([status(503)])
    sink = es_sink(ctx, stub, spill_max_bytes=0, max_in_flight=1, bulk_max_docs=10)
    writer = threading.Thread(target=sink.write_batch, args=(docs(100),))
    writer.start()
    wait_for(lambda: sink.counts["http_503"] >= 3, what="retries")
    writer.join(0.3)
    assert writer.is_alive(), "write_batch must wait while the queue is full and the cluster down"
    stub.script = [accept_all]
    writer.join(10)
    assert not writer.is_alive()
    sink.close()
    assert sink.counts["delivered"] == 100 and sink.counts["spilled_requests"] == 0


def test_outage_spills_to_a_bounded_disk_queue_and_replays_it(ctx: Context, stubs, tmp_path: Path):
    stub = stubs([status(503)])
    spill = tmp_path / "spill"
    limit = 6 * len(b"".join(docs(10))) + 6 * 10 * 60  # about six requests of ten documents
    sink = es_sink(ctx, stub, spill_dir=str(spill), spill_max_bytes=limit, max_in_flight=1, bulk_max_docs=10)
    writer = threading.Thread(target=lambda: [sink.write_batch(docs(10, start=i * 10)) for i in range(20)])
    writer.start()
    wait_for(lambda: len(list(spill.glob("*.ndjson"))) >= 4, what="spilled requests")
    writer.join(0.3)
    assert writer.is_alive(), "write_batch must wait once the spill is full"
    on_disk = sum(p.stat().st_size for p in spill.glob("*.ndjson"))
    assert on_disk <= limit
    stub.script = [accept_all]  # the cluster is back
    writer.join(10)
    assert not writer.is_alive()
    assert sink.flush(10)
    sink.close()
    assert sink.counts["spilled_requests"] >= 4 and sink.counts["replayed_requests"] == sink.counts["spilled_requests"]
    delivered = [orjson.loads(d)["n"] for _, d in stub.bulk_items(answered=200)]
    assert sorted(delivered) == list(range(200))  # each accepted exactly once, none lost
    assert list(spill.glob("*.ndjson")) == []


def test_shutdown_during_an_outage_keeps_the_rest_on_disk_for_the_next_start(ctx: Context, stubs, tmp_path: Path):
    down = stubs([status(503)])
    spill = tmp_path / "spill"
    sink = es_sink(ctx, down, spill_dir=str(spill), close_timeout=0.3, bulk_max_docs=10, max_in_flight=2)
    sink.write_batch(docs(95))
    sink.close()
    assert sink.counts["left_in_spill"] > 0 and dead_letters(ctx) == []
    assert sum(len(p.read_bytes().splitlines()) for p in spill.glob("*.ndjson")) == 2 * 95
    up = stubs([accept_all])
    again = es_sink(ctx, up, spill_dir=str(spill))
    assert again.flush(10)
    again.close()
    assert sorted(orjson.loads(d)["n"] for _, d in up.bulk_items(answered=200)) == list(range(95))
    assert again.counts["recovered_requests"] > 0 and list(spill.glob("*")) == []


def test_shutdown_during_an_outage_without_spill_dead_letters(ctx: Context, stubs):
    stub = stubs([status(503)])
    sink = es_sink(ctx, stub, close_timeout=0.3, spill_max_bytes=0)
    sink.write_batch(docs(4))
    sink.close()
    dead = dead_letters(ctx)
    assert [orjson.loads(d["line"])["n"] for d in dead] == [0, 1, 2, 3]
    assert {d["reason"] for d in dead} == {"undelivered_at_shutdown"} and "503" in dead[0]["detail"]
