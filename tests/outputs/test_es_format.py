"""The Elasticsearch output's pure parts: config, action lines, ids, index names,
bodies, response reading and retry verdicts (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from mle.connectors import Endpoint
from mle.errors import ConfigError
from mle.sinks.elasticsearch.config import parse_config
from mle.sinks.elasticsearch.encode import (
    ActionEncoder,
    bulk_body,
    document_id,
    document_time,
    index_for,
    split_body,
)
from mle.sinks.elasticsearch.response import read_bulk_response
from mle.sinks.elasticsearch.retry import RetryPolicy, Verdict, item_verdict, response_verdict
from mle.sinks.elasticsearch.service import request_headers
from tests.outputs.helpers import bulk_answer, make_context


def config(uri: str, tmp_path, **options):
    endpoint = Endpoint.parse(uri, 'outputs[1] (tag "es")')
    return parse_config(endpoint, options, make_context(tmp_path), "es")


def test_uri_parts(tmp_path):
    c = config("elasticsearch+https://elastic:p%40ss@es.example:9243/proxy/es/mle-%Y.%m", tmp_path)
    assert c.base_url == "https://es.example:9243/proxy/es"
    assert (c.index, c.user, c.password) == ("mle-%Y.%m", "elastic", "p@ss")
    assert c.bulk_url == "https://es.example:9243/proxy/es/_bulk?filter_path=errors,items.*.status,items.*.error"
    assert c.spill_dir == tmp_path / "run" / "spill" / "es"
    assert (c.action, c.doc_id, c.max_in_flight) == ("create", "hash", 4)
    d = config("opensearch+http://[::1]/logs", tmp_path, pipeline="geo ip", spill_dir="spool")
    assert d.base_url == "http://[::1]:9200" and d.bulk_url.endswith("&pipeline=geo%20ip")
    assert d.spill_dir == tmp_path / "spool"


@pytest.mark.parametrize(("uri", "options", "message"), [
    ("elasticsearch+ftp://h:9200/i", {}, "must be elasticsearch\\+http"),
    ("elasticsearch+http://h:9200", {}, "names no index"),
    ("elasticsearch+http://h:9200/Mle", {}, "not a valid index name"),
    ("elasticsearch+http://h:9200/a,b", {}, "not a valid index name"),
    ("elasticsearch+http://h:9200/i", {"action": "update"}, '"action" must be'),
    ("elasticsearch+http://h:9200/i", {"data_stream": True, "action": "index"}, "only takes"),
    ("elasticsearch+http://h:9200/logs-%Y", {"data_stream": True}, "no date pattern"),
    ("elasticsearch+http://h:9200/i", {"api_key": "k", "user": "u"}, "either"),
    ("elasticsearch+http://h:9200/i", {"ca_file": "/nonexistent.pem"}, "does not exist"),
    ("elasticsearch+http://h:9200/i", {"bulk_max_docs": 0}, "at least 1"),
    ("elasticsearch+http://h:9200/i", {"bulk_max_doc": 10}, 'did you mean "bulk_max_docs"'),
    ("elasticsearch+http://h:9200/i", {"flush_interval": "1s"}, "wrong type"),
])
def test_configuration_errors_name_the_entry(tmp_path, uri: str, options: dict, message: str):
    with pytest.raises(ConfigError, match=message) as error:
        config(uri, tmp_path, **options)
    assert 'outputs[1] (tag "es")' in str(error.value)


def test_action_lines_ids_and_dated_indices():
    encoder = ActionEncoder("create", "mle-%Y.%m.%d", with_ids=True)
    doc = b'{"timestamp":"2026-11-23T23:30:00.000001-0100","flow_id":1234567890123456789}'
    action = orjson.loads(encoder.encode(doc))
    assert action == {"create": {"_index": "mle-2026.11.24", "_id": document_id(doc)}}
    assert document_id(doc) == document_id(bytes(doc)) != document_id(doc.replace(b"1234", b"1235"))
    assert len(document_id(doc)) == 22
    ecs = b'{"@timestamp":"2026-01-02T03:04:05Z","timestamp":"1999-01-01T00:00:00Z"}'
    assert orjson.loads(encoder.encode(ecs))["create"]["_index"] == "mle-2026.01.02"
    now = datetime(2030, 5, 6, tzinfo=UTC)
    assert orjson.loads(encoder.encode(b'{"no":"time"}', now))["create"]["_index"] == "mle-2030.05.06"
    assert encoder.time_fallbacks == 1
    plain = ActionEncoder("index", "eve", with_ids=False)
    assert plain.encode(doc) == b'{"index":{"_index":"eve"}}'
    assert index_for("x-%Y", datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "x-2026"
    assert document_time(b"[1,2]") is None and document_time(b'{"timestamp":"soon"}') is None


def test_body_round_trip():
    items = [(b'{"create":{"_index":"i"}}', b'{"a":1}'), (b'{"create":{"_index":"i"}}', b'{"b":2}')]
    body = bulk_body(items)
    assert body == b'{"create":{"_index":"i"}}\n{"a":1}\n{"create":{"_index":"i"}}\n{"b":2}\n'
    assert split_body(body) == items
    with pytest.raises(ValueError):
        split_body(b"one line\n")


def test_reading_a_mixed_response():
    body = bulk_answer([
        (201, None),
        (400, {"type": "mapper_parsing_exception", "reason": "failed to parse field [x]",
               "caused_by": {"type": "illegal_argument_exception", "reason": "For input string"}}),
        (409, {"type": "version_conflict_engine_exception", "reason": "document already exists"}),
        (429, {"type": "es_rejected_execution_exception", "reason": "queue full"}),
        (503, {"type": "unavailable_shards_exception", "reason": "primary shard is not active"}),
        (500, {"type": "exception", "reason": "boom"}),
        (403, {"type": "cluster_block_exception", "reason": "index read-only / allow delete"}),
        (404, {"type": "index_not_found_exception", "reason": "no such index"}),
    ])
    outcome = read_bulk_response(body, 8, "create")
    assert (outcome.done, outcome.duplicates) == (1, 1)
    assert outcome.retry == [3, 4, 6] and outcome.retry_limited == [5]
    assert [(i, s) for i, s, _ in outcome.rejected] == [(1, 400), (7, 404)]
    assert outcome.rejected[0][2] == ("mapper_parsing_exception: failed to parse field [x] "
                                      "(caused by illegal_argument_exception: For input string)")
    assert outcome.statuses[409] == 1
    assert read_bulk_response(bulk_answer([(409, None)], "index"), 1, "index").rejected[0][1] == 409


@pytest.mark.parametrize("body", [b"<html>proxy</html>", b'{"items":[]}', b'{"items":[{"create":{}}]}', b"[]"])
def test_unreadable_responses_raise(body: bytes):
    with pytest.raises(ValueError):
        read_bulk_response(body, 1, "create")


def test_verdicts_and_backoff():
    assert [response_verdict(s) for s in (200, 429, 502, 503, 504, 401, 413, 500, 400, 404)] == [
        Verdict.ITEMS, Verdict.RETRY, Verdict.RETRY, Verdict.RETRY, Verdict.RETRY, Verdict.RETRY,
        Verdict.SPLIT, Verdict.RETRY_LIMITED, Verdict.REJECT, Verdict.REJECT]
    assert item_verdict("create", 201, None) is Verdict.DONE
    assert item_verdict("index", 409, "version_conflict_engine_exception") is Verdict.REJECT
    assert item_verdict("create", 403, "security_exception") is Verdict.REJECT
    policy = RetryPolicy(0.5, 30.0, 2)
    assert [policy.delay(a, 0.999999) for a in range(8)] == pytest.approx([0.5, 1, 2, 4, 8, 16, 30, 30], rel=1e-5)
    assert policy.delay(3, 0.0) == 2.0  # jitter keeps at least half the delay
    assert not policy.gives_up(2) and policy.gives_up(3)


def test_auth_headers(tmp_path):
    basic = request_headers(config("elasticsearch+http://h/i", tmp_path, user="elastic", password="changeme"))
    assert basic["Authorization"] == "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
    assert basic["Content-Type"] == "application/x-ndjson"
    keyed = request_headers(config("elasticsearch+http://h/i", tmp_path, api_key="a2V5"))
    assert keyed["Authorization"] == "ApiKey a2V5"
    assert "Authorization" not in request_headers(config("elasticsearch+http://h/i", tmp_path))
