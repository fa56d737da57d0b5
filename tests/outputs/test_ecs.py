"""outputs/ecs.lua: every record of both samples maps without error, keeps what it
does not map under suricata.eve, keeps integers exact; and exact field values for
the main event types."""

from __future__ import annotations

import gzip

import orjson
import pytest

from tests.conftest import DATA, REPO

ECS = (REPO / "outputs" / "ecs.lua").read_text()
CONFIG = """
inputs = { { tag = "eve", uri = "file://unused", default_analyzer = "score" } }
analyzers = { { tag = "score", script = "score.lua", default_analyzer = "", default_output = "es" } }
outputs = { { tag = "es", uri = "file://ecs.json", script = "ecs.lua" } }
"""
SCORE = """
function loop(msg)
  if msg.event_type == "alert" then mle.finding(msg, 0.97, "rare signature") else mle.score(msg, 0.5) end
  dragonfly.output_event(default_output, msg)
end
"""
MOVED = {"timestamp", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto", "community_id", "mle"}


@pytest.fixture
def ecs(make_root, harness):
    """push(records) -> the ECS documents."""
    h = harness(make_root(CONFIG, analyzers={"score.lua": SCORE}, outputs={"ecs.lua": ECS}))

    def push(records: list[dict] | list[bytes]) -> list[dict]:
        before = len(h.outputs.get("es", []))
        lines = [r if isinstance(r, bytes) else orjson.dumps(r) for r in records]
        for i in range(0, len(lines), 256):
            h.push(lines[i:i + 256])
        assert h.dead() == []
        return h.events("es")[before:]

    return push


@pytest.mark.parametrize("sample", [DATA / "verify-sample.eve.json.gz", REPO / "data" / "eve" / "sample.eve.json.gz"])
def test_every_sample_record_maps(ecs, sample):
    with gzip.open(sample) as f:
        records = [orjson.loads(line) for line in f.read().splitlines()]
    documents = ecs(records)
    assert len(documents) == len(records)
    for record, doc in zip(records, documents, strict=True):
        event_type = (record.get("event_type") or "").lower() or None
        assert doc["event"]["dataset"] == "suricata.eve" and doc["ecs"]["version"]
        assert doc["event"]["kind"] == {"alert": "alert", "stats": "metric"}.get(event_type, "event")
        assert ("@timestamp" in doc) == ("timestamp" in record)
        if "src_ip" in record:
            assert doc["source"]["ip"] == record["src_ip"] and doc["destination"]["ip"] == record["dest_ip"]
            assert doc["source"].get("port") == record.get("src_port")
            assert doc["network"]["transport"] == record["proto"].lower()
            assert set(doc["related"]["ip"]) >= {record["src_ip"], record["dest_ip"]}
        if "community_id" in record:
            assert doc["network"]["community_id"] == record["community_id"]
        eve = doc["suricata"]["eve"]
        assert eve.get("flow_id") == record.get("flow_id")  # exact, as an integer
        for key, value in record.items():  # nothing unmapped is lost, nothing is changed
            if key not in MOVED and key != "event_type":
                assert eve[key] == value, key
        assert not MOVED & doc.keys() - {"mle"}
        assert doc["mle"] == {"scores": {"score": 0.5}} or doc["mle"]["priority"] == 0.97


def test_flow(ecs):
    (doc,) = ecs([{
        "timestamp": "2026-11-23T06:00:01.500000+0100", "flow_id": (1 << 62) + 7, "event_type": "flow",
        "src_ip": "10.0.0.1", "src_port": 51000, "dest_ip": "192.0.2.9", "dest_port": 443, "proto": "TCP",
        "app_proto": "tls", "community_id": "1:abc=",
        "flow": {"pkts_toserver": 10, "pkts_toclient": 12, "bytes_toserver": 1000, "bytes_toclient": 9000,
                 "start": "2026-11-23T05:59:59.250000+0100", "end": "2026-11-23T06:00:01.000001+0100",
                 "state": "closed", "reason": "timeout", "alerted": False},
        "tcp": {"tcp_flags": "1b", "syn": True},
    }])
    assert doc["@timestamp"] == "2026-11-23T06:00:01.500000+01:00"
    assert doc["suricata"]["eve"]["flow_id"] == (1 << 62) + 7
    assert doc["event"]["type"] == ["connection", "end"] and doc["event"]["category"] == ["network"]
    assert doc["event"]["start"] == "2026-11-23T05:59:59.250000+01:00"
    assert doc["event"]["end"] == "2026-11-23T06:00:01.000001+01:00"
    assert doc["event"]["duration"] == 1_750_001_000
    assert doc["source"] == {"ip": "10.0.0.1", "address": "10.0.0.1", "port": 51000, "packets": 10, "bytes": 1000}
    assert doc["destination"]["bytes"] == 9000 and doc["destination"]["packets"] == 12
    assert doc["network"] == {"transport": "tcp", "protocol": "tls", "community_id": "1:abc=",
                              "bytes": 10000, "packets": 22}
    assert doc["suricata"]["eve"]["flow"]["reason"] == "timeout" and doc["suricata"]["eve"]["tcp"]["syn"] is True
    assert "timestamp" not in doc["suricata"]["eve"] and "mle" not in doc["suricata"]["eve"]


def test_alert_with_a_finding(ecs):
    (doc,) = ecs([{
        "timestamp": "2026-11-23T06:00:00.000000+0000", "flow_id": 1, "event_type": "alert",
        "src_ip": "10.0.0.1", "src_port": 1, "dest_ip": "10.0.0.2", "dest_port": 80, "proto": "TCP",
        "alert": {"action": "blocked", "gid": 1, "signature_id": 2028765, "rev": 2,
                  "signature": "ET JA3 Hash - Possible Dridex", "category": "Unknown Traffic", "severity": 3},
    }])
    assert doc["event"]["kind"] == "alert"
    assert doc["event"]["category"] == ["network", "intrusion_detection"]
    assert doc["event"]["type"] == ["denied"] and doc["event"]["severity"] == 3
    assert doc["rule"] == {"id": "2028765", "name": "ET JA3 Hash - Possible Dridex", "category": "Unknown Traffic",
                           "version": "2"}
    assert doc["mle"] == {"scores": {"score": 0.97}, "priority": 0.97,
                          "findings": [{"analyzer": "score", "score": 0.97, "reason": "rare signature"}]}
    assert doc["event"]["risk_score"] == pytest.approx(97.0)
    assert doc["suricata"]["eve"]["alert"]["action"] == "blocked"


def test_http_dns_tls_fileinfo(ecs):
    base = {"timestamp": "2026-11-23T06:00:00.000000+0000", "flow_id": 2, "src_ip": "10.0.0.1", "src_port": 1,
            "dest_ip": "10.0.0.2", "dest_port": 80, "proto": "TCP"}
    http, dns, tls, fileinfo = ecs([
        {**base, "event_type": "http", "http": {"hostname": "example.com", "url": "/a/b?q=1#f", "http_method": "GET",
                                                "http_user_agent": "curl/8", "status": 404, "length": 12,
                                                "protocol": "HTTP/1.1", "http_refer": "http://r/"}},
        {**base, "proto": "UDP", "event_type": "dns", "dns": {
            "version": 2, "type": "answer", "id": 46988, "rd": True, "ra": True, "rrname": "www.msftncsi.com",
            "rrtype": "A", "rcode": "NOERROR",
            "answers": [{"rrname": "www.msftncsi.com", "rrtype": "CNAME", "ttl": 231, "rdata": "a.example"},
                        {"rrname": "a.example", "rrtype": "A", "ttl": 20, "rdata": "23.218.224.154"}]}},
        {**base, "event_type": "tls", "tls": {"subject": "CN=viglink.com", "issuerdn": "C=US, O=Amazon",
                                              "fingerprint": "0a:a1:18", "sni": "redirect.viglink.com.",
                                              "version": "TLS 1.2", "ja3": {"hash": "51c6"}, "ja3s": {"hash": "ec74"},
                                              "notbefore": "2023-02-14T00:00:00", "session_resumed": True}},
        {**base, "event_type": "fileinfo", "app_proto": "ftp-data",
         "fileinfo": {"filename": "/pub/x.bin", "size": 1387, "md5": "8299", "sha256": "c531"}},
    ])
    assert http["http"] == {"request": {"method": "GET", "referrer": "http://r/"},
                            "response": {"status_code": 404, "body": {"bytes": 12}}, "version": "HTTP/1.1"}
    assert http["url"] == {"original": "/a/b?q=1#f", "domain": "example.com", "path": "/a/b", "query": "q=1"}
    assert http["user_agent"] == {"original": "curl/8"} and http["event"]["outcome"] == "failure"
    assert http["event"]["category"] == ["network", "web"] and http["event"]["type"] == ["access", "protocol"]
    assert http["destination"]["domain"] == "example.com" and http["related"]["hosts"] == ["example.com"]
    assert http["network"]["protocol"] == "http"
    assert dns["dns"] == {"type": "answer", "id": "46988", "response_code": "NOERROR",
                          "question": {"name": "www.msftncsi.com", "type": "A"}, "header_flags": ["RD", "RA"],
                          "answers": [{"name": "www.msftncsi.com", "type": "CNAME", "ttl": 231, "data": "a.example"},
                                      {"name": "a.example", "type": "A", "ttl": 20, "data": "23.218.224.154"}],
                          "resolved_ip": ["23.218.224.154"]}
    assert "23.218.224.154" in dns["related"]["ip"] and dns["network"]["transport"] == "udp"
    assert tls["tls"] == {"version_protocol": "tls", "version": "1.2", "resumed": True,
                          "client": {"server_name": "redirect.viglink.com", "ja3": "51c6"},
                          "server": {"ja3s": "ec74", "subject": "CN=viglink.com", "issuer": "C=US, O=Amazon",
                                     "not_before": "2023-02-14T00:00:00", "hash": {"sha1": "0AA118"}}}
    assert tls["destination"]["domain"] == "redirect.viglink.com" and tls["network"]["protocol"] == "tls"
    assert fileinfo["file"] == {"path": "/pub/x.bin", "name": "x.bin", "size": 1387,
                                "hash": {"md5": "8299", "sha256": "c531"}}
    assert fileinfo["network"]["protocol"] == "ftp"


def test_unusual_records_do_not_fail(ecs):
    documents = ecs([{"event_type": "stats", "stats": {"uptime": 5}}, {"x": 1},
                     {"event_type": "flow", "flow": {"start": "garbage", "end": None}, "proto": "ICMP"}])
    assert documents[0]["event"]["kind"] == "metric" and "@timestamp" not in documents[0]
    assert documents[1]["suricata"]["eve"] == {"x": 1}
    assert "duration" not in documents[2]["event"] and documents[2]["network"]["transport"] == "icmp"
