"""The search profile: MLE's index template and the saved objects for OpenSearch
Dashboards. The saved objects must be valid, refer to each other, and ask for fields
the ECS output writes with the types their aggregations need: shown here by loading
the template with deploy/opensearch/load.sh into an OpenSearch-compatible server,
replaying real EVE through deploy/sensor.lua into it, and running every
visualization's aggregations and the saved search against what MLE wrote."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_mle
from tests.deploy.conftest import COMPOSE_FILE

OPENSEARCH = REPO / "deploy/opensearch"
OBJECTS = [json.loads(line) for line in (OPENSEARCH / "mle-dashboards.ndjson").read_text().splitlines()]
TEMPLATE = json.loads((OPENSEARCH / "mle-template.json").read_text())
INDEX = "mle-%Y.%m.%d"  # the index docker-compose.yml tells users to ship to
SAMPLE = REPO / "data/eve/sample.eve.json.gz"


def by_type(kind: str) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["type"] == kind]


def vis_state(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["visState"])


def search_source(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def test_the_saved_objects_are_ndjson_with_unique_ids_and_references_that_resolve():
    ids = [(o["type"], o["id"]) for o in OBJECTS]
    assert len(ids) == len(set(ids))
    assert {o["type"] for o in OBJECTS} == {"index-pattern", "visualization", "search", "dashboard"}
    for obj in OBJECTS:
        names = {ref["name"] for ref in obj["references"]}
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']} refers to a missing {ref['type']} {ref['id']}"
        meta = obj["attributes"].get("kibanaSavedObjectMeta")
        if meta and "indexRefName" in search_source(obj):
            assert search_source(obj)["indexRefName"] in names
    (dashboard,) = by_type("dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in dashboard["references"]}
    json.loads(dashboard["attributes"]["optionsJSON"])


def test_the_dashboard_shows_priority_over_time_and_top_findings_by_analyzer_and_reason():
    aggs = {o["id"]: [(a["type"], a["params"].get("field")) for a in vis_state(o)["aggs"]]
            for o in by_type("visualization")}
    assert any(("date_histogram", "@timestamp") in a and ("max", "mle.priority") in a for a in aggs.values())
    assert any(("terms", "mle.findings.analyzer") in a and ("terms", "mle.findings.reason.keyword") in a
               for a in aggs.values())


def mapping_type(mapping: dict[str, Any], field: str) -> str | None:
    """The type a mapping gives a dotted field (``a.b.keyword``: a multi-field)."""
    node: dict[str, Any] = {"properties": mapping["properties"]}
    parts = field.split(".")
    for k, part in enumerate(parts):
        if "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        elif "fields" in node and part in node["fields"] and k == len(parts) - 1:
            node = node["fields"][part]
        else:
            return None
    return node.get("type")


NEEDS = {"terms": ("keyword", "ip"), "max": ("float", "long", "double"), "date_histogram": ("date",)}


def test_the_template_maps_every_aggregated_field_as_its_aggregation_needs():
    mapping = TEMPLATE["template"]["mappings"]
    for obj in by_type("visualization"):
        for agg in vis_state(obj)["aggs"]:
            field = agg["params"].get("field")
            if field is not None:
                assert mapping_type(mapping, field) in NEEDS[agg["type"]], f"{obj['id']}: {field} for {agg['type']}"
    (pattern,) = by_type("index-pattern")
    assert mapping_type(mapping, pattern["attributes"]["timeFieldName"]) == "date"
    assert pattern["attributes"]["title"] in TEMPLATE["index_patterns"]
    assert fnmatch.fnmatch(INDEX, pattern["attributes"]["title"]) and INDEX in COMPOSE_FILE.read_text()


def flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for name, node in mapping.get("properties", {}).items():
        out[prefix + name] = node.get("type")
        out.update(flat(node, prefix + name + "."))
    return out


def test_the_template_keeps_every_field_of_the_documented_one():
    text = (REPO / "docs/outputs.md").read_text()
    block = re.search(r"<!-- index-template:start -->\s*```json\n(.*?)```\s*<!-- index-template:end -->", text, re.S)
    documented = json.loads(block.group(1))
    ours = TEMPLATE["template"]["mappings"]
    assert ours["dynamic_templates"] == documented["template"]["mappings"]["dynamic_templates"]
    assert flat(documented["template"]["mappings"]).items() <= flat(ours).items()


def query_of(vis: dict[str, Any], query: str) -> dict[str, Any]:
    """The OpenSearch query a visualization runs: bucket aggregations nested in order, its
    metrics inside the innermost bucket; interval "auto" as one minute."""
    metrics = {a["id"]: {a["type"]: {"field": a["params"]["field"]}} for a in vis["aggs"]
               if a["schema"] == "metric" and a["type"] != "count"}
    inner: dict[str, Any] = metrics
    for agg in reversed([a for a in vis["aggs"] if a["schema"] != "metric"]):
        params = agg["params"]
        if agg["type"] == "date_histogram":
            body = {"date_histogram": {"field": params["field"], "fixed_interval": "1m", "min_doc_count": 1}}
        else:
            body = {"terms": {"field": params["field"], "size": params["size"]}}
        inner = {agg["id"]: {**body, "aggs": inner}} if inner else {agg["id"]: body}
    return {"size": 0, "query": {"query_string": {"query": query}} if query else {"match_all": {}}, "aggs": inner}


@pytest.fixture(scope="module")
def shipped(osmem, redis_server, tmp_path_factory) -> dict[str, Any]:
    """The template loaded by load.sh, then the sample EVE replayed through deploy/sensor.lua
    with MLE_OPENSEARCH_URL set, as the search profile runs it."""
    loaded = subprocess.run(["sh", str(OPENSEARCH / "load.sh"), "template"], capture_output=True, text=True,
                            env={**os.environ, "OPENSEARCH_URL": osmem.url}, timeout=120)
    assert loaded.returncode == 0 and '"acknowledged":true' in loaded.stdout, loaded.stderr
    tmp = tmp_path_factory.mktemp("search")
    env = {"MLE_REDIS_HOST": redis_server.unix_socket, "MLE_REDIS_PORT": "0",
           "MLE_EVE_SOCKET": str(tmp / "eve.sock"), "MLE_OPENSEARCH_URL": f"opensearch+{osmem.url}/{INDEX}"}
    replayed = run_mle("replay", str(SAMPLE), "-r", str(REPO), "-c", str(REPO / "deploy/sensor.lua"),
                       "--workers", "0", "--run-dir", str(tmp / "run"), "--log-dir", str(tmp / "log"), env=env)
    assert replayed.returncode == 0, replayed.stderr.decode()
    annotated = Path(tmp / "log/eve-mle.json").read_bytes().count(b"\n")
    pattern = by_type("index-pattern")[0]["attributes"]["title"]
    assert osmem.count(pattern) == annotated > 0  # every event in the file went to the index too
    return {"pattern": pattern}


def test_every_visualization_finds_what_mle_wrote(osmem, shipped):
    for obj in by_type("visualization"):
        vis = vis_state(obj)
        query = search_source(obj)["query"]["query"]
        answer = osmem.request("POST", f"/{shipped['pattern']}/_search", query_of(vis, query))
        levels = [a["id"] for a in vis["aggs"] if a["schema"] != "metric"]
        leaves = [answer["aggregations"]]
        keys: list[set] = []
        for level in levels:  # down the nested buckets to the innermost, where the metrics are
            buckets = [b for node in leaves for b in node[level]["buckets"]]
            assert buckets, f"{obj['id']}: no buckets for aggregation {level}"
            keys.append({b["key"] for b in buckets})
            leaves = buckets
        for metric in [a["id"] for a in vis["aggs"] if a["schema"] == "metric" and a["type"] != "count"]:
            assert any(b[metric]["value"] for b in leaves), f"{obj['id']}: metric {metric} empty"
        fields = [a["params"].get("field") for a in vis["aggs"] if a["schema"] != "metric"]
        expected = {"mle.findings.analyzer": "ioc",
                    "mle.findings.reason.keyword": "dest_ip 135.148.121.246 is on example.txt (Dridex C2)"}
        for field, found in zip(fields, keys, strict=True):
            assert field not in expected or expected[field] in found, f"{obj['id']}: {field}"


def test_the_saved_search_shows_fields_of_the_documents(osmem, shipped):
    (search,) = by_type("search")
    query = search_source(search)["query"]["query"]
    (field, order), = search["attributes"]["sort"]
    answer = osmem.request("POST", f"/{shipped['pattern']}/_search",
                           {"size": 50, "query": {"query_string": {"query": query}}, "sort": [{field: order}]})
    hits = [h["_source"] for h in answer["hits"]["hits"]]
    assert hits and all(h["mle"]["findings"] for h in hits)

    def has(doc: Any, dotted: str) -> bool:
        for part in dotted.split("."):
            if isinstance(doc, list):
                doc = doc[0] if doc else {}
            if not isinstance(doc, dict) or part not in doc:
                return False
            doc = doc[part]
        return True

    for column in search["attributes"]["columns"]:
        assert any(has(h, column) for h in hits), f"no document has {column}"
    priorities = [h["mle"]["priority"] for h in hits]
    assert priorities == sorted(priorities, reverse=True)
