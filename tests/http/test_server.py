"""The HTTP layer in-process: an ApiHost on a free port over a real root and Redis,
its state fed as an engine feeds it. Every request goes over a real socket."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mle.config import load_config
from mle.http import openapi
from mle.http.auth import ENV
from mle.http.host import ApiHost, ApiUnavailable
from mle.http.routes import ROUTES
from mle.root import Root
from tests.http.helpers import Api

CONFIG = """
inputs = { { tag = "eve", uri = "file://x", script = "f.lua", default_analyzer = "dns" } }
analyzers = { { tag = "dns", script = "dns.lua", default_analyzer = "", default_output = "out" } }
outputs = { { tag = "out", uri = "file://out.json" } }
mle = { max_line_bytes = 4096 %s }
"""


def make_host(make_root, redis_server, extra: str = "", listen: tuple[str, int] = ("127.0.0.1", 0),
              required: bool = True) -> ApiHost:
    root = make_root(CONFIG % extra, inputs={"f.lua": "function loop(m) end"},
                     analyzers={"dns.lua": "function loop(m) end"},
                     files={"analyzers/dns.md": "# dns\nScores DNS names.\n", "www/dns.json": '{"name": "dns"}',
                            "www/notes.txt": "not served"})
    host = ApiHost(load_config(Root.locate(root)), listen, mode="run", workers=2, required=required)
    host.start(redis_server)
    return host


@pytest.fixture
def host(make_root, redis_server) -> Iterator[ApiHost]:
    served = make_host(make_root, redis_server)
    yield served
    served.stop()


@pytest.fixture
def api(host: ApiHost) -> Api:
    return Api(host.url, host.token.value)


def test_the_openapi_document_lists_every_route_and_nothing_else(api):
    status, document = api.get("/openapi.json")
    assert status == 200
    assert document == orjson.loads(orjson.dumps(openapi.document(ROUTES)))
    documented = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert documented == {(route.method, route.path) for route in ROUTES}
    for route in ROUTES:  # every documented path answers with something other than 404
        path = route.path.replace("{tag}", "dns").replace("{name}", "dns.json")
        assert api.request(route.method, path, token="wrong")[0] != 404, path


@pytest.mark.parametrize("path", ["/reload", "/feedback"])
def test_posts_need_the_token(api, host, path):
    status, answer, headers = api.request("POST", path, b'{"flow_id": 1, "verdict": "benign"}', token="")
    assert (status, headers["WWW-Authenticate"]) == (401, 'Bearer realm="mle"')
    assert "token" in answer["error"]
    status, answer = api.post(path, {"flow_id": 1, "verdict": "benign"}, token=host.token.value + "x")
    assert (status, answer) == (403, {"error": "wrong API token"})
    assert host.commands.take() == []  # nothing reached the engine


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"flow_id": 1, "verdict": "malicious"', "the body is not JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"flow_id": 1, "verdict": "evil"}', '"verdict" must be "malicious" or "benign"'),
    (b'{"verdict": "benign"}', 'needs "flow_id" or "event"'),
    (b'{"flow_id": -3, "verdict": "benign"}', '"flow_id" must be a non-negative integer'),
    (b'{"flow_id": 1, "verdict": "benign", "analyser": "dns"}', "unknown field 'analyser'"),
    (b'{"flow_id": 1, "verdict": "benign", "analyzer": "http"}', "'http' is not a configured analyzer (dns)"),
    (b'{"event": {"flow_id": 2}, "flow_id": 1, "verdict": "benign"}', "differs from the event's flow_id"),
])
def test_a_bad_verdict_is_400_with_the_reason(api, host, body, reason):
    status, answer = api.post("/feedback", body)
    assert status == 400
    assert reason in answer["error"]
    assert host.commands.take() == []


def test_a_huge_body_is_refused_before_it_is_sent(api, host):
    with socket.create_connection((api.host, api.port), timeout=10) as sock:
        sock.sendall(b"POST /feedback HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + host.token.value.encode()
                     + b"\r\nContent-Length: 1000000000\r\n\r\n" + b"{" * 1000)
        answer = b""  # answered although 999,999,000 bytes were never sent
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 413 ")
    assert b"the limit is 69632" in answer  # max_line_bytes (an event) + 64 KiB


def test_a_chunked_body_is_refused(api):
    with socket.create_connection((api.host, api.port), timeout=10) as sock:
        sock.sendall(b"POST /reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.0 411 ")


def test_unknown_paths_are_404_and_wrong_methods_405(api):
    status, answer = api.get("/nope")
    assert (status, answer["error"]) == (404, "no such path: /nope (see /openapi.json)")
    status, answer, headers = api.request("DELETE", "/health")
    assert (status, headers["Allow"]) == (405, "GET")
    status, _, headers = api.request("GET", "/feedback")
    assert (status, headers["Allow"]) == (405, "POST")


def test_a_silent_client_does_not_hold_up_the_others(api):
    with socket.create_connection((api.host, api.port), timeout=10):  # connects, sends nothing
        status, answer = api.get("/health/live")
    assert (status, answer["live"]) == (200, True)


def test_metrics_never_go_down_when_a_worker_is_replaced(api, host):
    def counters(n_in: int) -> dict:
        return {"runtime": "lua54", "lines_in": {"eve": n_in}, "redis_commands": n_in, "rejected": {"eve\tnot_json": 1},
                "scripts": [{"id": 1, "kind": "analyzer", "tag": "dns", "n_in": n_in, "n_out": n_in, "n_err": 0,
                             "n_redis": 0, "time": 0.0, "quarantined": False}]}

    host.state.worker_report("worker-0", 100, counters(50))
    host.state.worker_report("worker-1", 101, counters(30))
    host.state.worker_report("worker-1", 102, counters(5))  # worker-1 replaced: its successor starts at 0
    status, text = api.get("/metrics")
    assert status == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text.decode()) for s in family.samples}
    assert samples[("mle_script_events_in_total", (("kind", "analyzer"), ("script", "dns")))] == 85
    assert samples[("mle_input_rejected_total", (("input", "eve"), ("reason", "not_json")))] == 3
    assert samples[("mle_redis_commands_total", ())] == 85


def test_analyzers_show_their_explanation_and_dragonfly_www_files_are_served(api, host):
    status, answer = api.get("/analyzers/DNS")
    assert status == 200
    assert answer["doc"] == {"path": "analyzers/dns.md", "format": "markdown", "content": "# dns\nScores DNS names.\n"}
    assert api.get("/www/dns.json") == (200, {"name": "dns"})
    assert api.get("/www/notes.txt")[0] == 404  # only the json explanations
    assert api.get("/www/..%2Fconfig.lua")[0] == 404
    assert api.get("/analyzers/http")[0] == 404


def test_a_generated_token_is_private_and_removed_at_stop(make_root, redis_server, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    host = make_host(make_root, redis_server)
    path = Path(host.token.origin)
    assert path.name == "http.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == host.token.value and len(host.token.value) >= 40
    host.stop()
    assert not path.exists()


def test_a_configured_token_wins(make_root, redis_server, monkeypatch):
    monkeypatch.setenv(ENV, "from-env")
    host = make_host(make_root, redis_server, extra=', http_token = "from-config"')
    try:
        assert host.token.value == "from-config"
        assert not (Path(host.config.run_dir) / "http.token").exists()
        assert Api(host.url).post("/reload", {}, token="from-env")[0] == 403
    finally:
        host.stop()
    monkeypatch.setenv(ENV, "from-env")
    host = make_host(make_root, redis_server)
    host.stop()
    assert host.token.value == os.environ[ENV]


def test_an_address_in_use_stops_the_engine_unless_it_was_the_default(make_root, redis_server, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = taken.getsockname()
        with pytest.raises(ApiUnavailable, match=r"cannot listen on 127\.0\.0\.1:\d+: .*--http off"):
            make_host(make_root, redis_server, listen=address)
        host = make_host(make_root, redis_server, listen=address, required=False)
    assert host.url == ""
    assert "cannot listen on" in caplog.text
