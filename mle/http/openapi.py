"""The OpenAPI 3 document of the HTTP API, written from the route table, so the two
cannot disagree (a test checks every route is in it and nothing else is)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mle.http.routes import Route

_OBJECT = {"type": "object"}
_COUNT = {"type": "integer", "minimum": 0}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Verdict": {
        "type": "object",
        "description": "An analyst's verdict on one event: flow_id or the event itself is required.",
        "required": ["verdict"],
        "properties": {
            "verdict": {"type": "string", "enum": ["malicious", "benign"]},
            "flow_id": {"type": "integer", "minimum": 0, "format": "int64"},
            "event": {"type": "object", "description": "The EVE record the verdict is about"},
            "analyzer": {"type": "string", "description": "The analyzer whose finding this answers"},
            "note": {"type": "string", "maxLength": 4096},
        },
        "additionalProperties": False,
    },
    "FeedbackTaken": {"type": "object", "properties": {
        "taken": {**_COUNT, "description": "Analyzers that ran feedback(fb)"},
        "worker": {**_COUNT, "description": "The worker that owns the event's shard"},
        "verdict": {"type": "string"}}},
    "Reloaded": {"type": "object", "properties": {"reloaded": {"type": "boolean"}, "error": {"type": "string"}}},
    "Process": {"type": "object", "properties": {
        "pid": {"type": ["integer", "null"]}, "alive": {"type": "boolean"}, "ready": {"type": "boolean"},
        "state": {"type": "string"}}},
    "Health": {"type": "object", "properties": {
        "live": {"type": "boolean"}, "ready": {"type": "boolean"}, "status": {"type": "string"},
        "processes": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Process"}}}},
    "Live": {"type": "object", "properties": {"live": {"type": "boolean"},
                                              "main_loop_seconds_ago": {"type": "number"}}},
    "Analyzer": {"type": "object", "properties": {
        "tag": {"type": "string"}, "script": {"type": "string"},
        "status": {"type": "string", "description": "running, quarantined, quarantined in N workers, starting"},
        "load_errors": {"type": "array", "items": {"type": "string"}},
        "event_types": {"type": ["array", "null"], "items": {"type": "string"}},
        "counters": {"type": "object", "properties": {
            "in": _COUNT, "out": _COUNT, "errors": _COUNT, "redis_commands": _COUNT,
            "cpu_seconds": {"type": "number"}}},
        "doc": {"type": ["object", "null"], "properties": {
            "path": {"type": "string"}, "format": {"type": "string", "enum": ["markdown", "json", "text"]},
            "content": {}}}}},
    "Analyzers": {"type": "object", "properties": {
        "analyzers": {"type": "array", "items": {"$ref": "#/components/schemas/Analyzer"}}}},
    "Finding": {"type": "object", "properties": {
        "priority": {"type": "number"}, "seen": {"type": "number", "description": "Unix time it was written"},
        "flow_id": {"type": "string", "description": "As a string: 64-bit ids do not fit a JavaScript number"},
        "timestamp": {"type": "string"}, "event_type": {"type": "string"},
        "findings": {"type": "array", "items": {"type": "object", "properties": {
            "analyzer": {"type": "string"}, "score": {"type": "number"}, "reason": {"type": "string"}}}}}},
    "Status": {"type": "object", "properties": {
        "engine": _OBJECT, "events_per_second": {"type": "number"}, "totals": _OBJECT,
        "latency": _OBJECT, "processes": _OBJECT, "analyzers": {"type": "array", "items": _OBJECT},
        "outputs": {"type": "array", "items": _OBJECT},
        "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}}}},
}


def _version() -> str:
    try:
        return version("mle")
    except PackageNotFoundError:
        return "0"


def _operation(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    codes = route.responses or {200: ""}
    for code, schema in sorted(codes.items()):
        entry: dict[str, Any] = {"description": schema or "OK"}
        content_type = route.content_type if code < 400 or not schema else "application/json"
        entry["content"] = {content_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}} if schema else {}}
        responses[str(code)] = entry
    if route.token:
        responses["401"] = {"description": "No token", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
        responses["403"] = {"description": "Wrong token", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    operation: dict[str, Any] = {"summary": route.summary, "responses": responses,
                                 "operationId": route.handler.__name__}
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"\{(\w+)\}", route.path)]
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{route.body}"}}}}
    if route.token:
        operation["security"] = [{"token": []}]
    return operation


def document(routes: tuple[Route, ...]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``."""
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "MLE HTTP API", "version": _version(),
                 "description": "Health, metrics, analyzers, reload and analyst feedback of a running MLE engine. "
                                "POST requests need the token (Authorization: Bearer TOKEN)."},
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
    }
