"""What each path of the HTTP API does. :data:`ROUTES` is the one list of them:
the router dispatches from it and the OpenAPI document is written from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mle.http import metrics, openapi, status_page
from mle.http.analyzers import analyzer_rows, www_file
from mle.http.commands import FEEDBACK, RELOAD, CommandFailed
from mle.http.feedback import BadVerdict, owning_worker, parse_verdict
from mle.http.server import JSON, Request, Response, error_response, json_response

if TYPE_CHECKING:
    from mle.http.host import ApiHost

FEEDBACK_WAIT = 15.0  # seconds a verdict may wait for its worker
RELOAD_WAIT = 120.0  # seconds a reload may take to load and set up every script
STALLED_AFTER = 15.0  # the engine's main loop silent this long: not live

Handler = Callable[["ApiHost", Request], Response]


@dataclass(frozen=True)
class Route:
    """A method and path (``{name}`` matches one path segment), what it does, and what
    the OpenAPI document says about it."""

    method: str
    path: str
    handler: Handler
    summary: str
    token: bool = False  # needs the API token
    content_type: str = JSON
    responses: dict[int, str] = field(default_factory=dict)
    body: str | None = None  # the OpenAPI schema name of the request body

    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


# --- health -------------------------------------------------------------------------------------

def _health(host: ApiHost) -> dict[str, Any]:
    snap = host.state.snapshot()
    processes: dict[str, Any] = {}
    stalled = host.state.seconds_since_tick()
    processes["supervisor" if host.workers else "engine"] = {
        "pid": snap["engine"]["pid"], "alive": stalled < STALLED_AFTER, "ready": stalled < STALLED_AFTER,
        "state": "running" if stalled < STALLED_AFTER else f"main loop silent for {stalled:.0f} s"}
    expected = ["source", *(f"worker-{i}" for i in range(host.workers)), "sink"] if host.workers else ["worker-0"]
    for name in expected:
        processes[name] = snap["processes"].get(name, {"alive": False, "ready": False, "state": "not started"})
    ok, detail = host.redis.check() if host.redis is not None else (False, "not connected")
    processes["redis"] = {"alive": ok, "ready": ok, "state": "answering" if ok else f"not answering: {detail}"}
    live = stalled < STALLED_AFTER
    ready = live and all(p["ready"] if name in ("supervisor", "engine", "redis")
                         else bool(p.get("alive") and p.get("ready") and p.get("state") == "running")
                         for name, p in processes.items())
    return {"live": live, "ready": ready, "status": "ready" if ready else "not ready", "processes": processes}


def health(host: ApiHost, request: Request) -> Response:
    report = _health(host)
    return json_response(200 if report["ready"] else 503, report)


def health_live(host: ApiHost, request: Request) -> Response:
    stalled = host.state.seconds_since_tick()
    live = stalled < STALLED_AFTER
    return json_response(200 if live else 503, {"live": live, "main_loop_seconds_ago": round(stalled, 3)})


# --- reading ------------------------------------------------------------------------------------

def index(host: ApiHost, request: Request) -> Response:
    return Response(200, status_page.html(), "text/html; charset=utf-8",
                    {"Content-Security-Policy": status_page.CSP})


def status(host: ApiHost, request: Request) -> Response:
    return json_response(200, status_page.status(host))


def metrics_text(host: ApiHost, request: Request) -> Response:
    return Response(200, metrics.render(host.state), metrics.CONTENT_TYPE)


def analyzers(host: ApiHost, request: Request) -> Response:
    counters = host.state.snapshot()["counters"]
    return json_response(200, {"analyzers": analyzer_rows(host.config, counters, host.workers)})


def analyzer(host: ApiHost, request: Request) -> Response:
    tag = request.params["tag"].lower()
    counters = host.state.snapshot()["counters"]
    for row in analyzer_rows(host.config, counters, host.workers):
        if row["tag"].lower() == tag:
            return json_response(200, row)
    return error_response(404, f'no analyzer with tag "{request.params["tag"]}"')


def www(host: ApiHost, request: Request) -> Response:
    path = www_file(host.config, request.params["name"])
    if path is None:
        return error_response(404, f'no file www/{request.params["name"]} in the root')
    return Response(200, path.read_bytes(), JSON)


def openapi_document(host: ApiHost, request: Request) -> Response:
    return json_response(200, openapi.document(ROUTES))


# --- changing state -----------------------------------------------------------------------------

def reload(host: ApiHost, request: Request) -> Response:
    future = host.commands.submit(RELOAD)
    try:
        loaded = future.result(RELOAD_WAIT)
    except FutureTimeout:
        return error_response(504, f"the reload did not finish within {RELOAD_WAIT:g} s; see the log")
    except CommandFailed as exc:
        return error_response(503, str(exc))
    if not loaded:
        return json_response(422, {"reloaded": False, "error": "the scripts on disk did not load; the running ones "
                                   "go on (the log names the script and the problem)"})
    return json_response(200, {"reloaded": True})


def feedback(host: ApiHost, request: Request) -> Response:
    try:
        verdict = parse_verdict(request.body, [spec.tag for spec in host.config.analyzers])
        worker = owning_worker(verdict, host.config.engine.shard_key, host.workers)
    except BadVerdict as exc:
        return error_response(400, str(exc))
    future = host.commands.submit(FEEDBACK, {"verdict": verdict, "worker": worker})
    try:
        taken = future.result(FEEDBACK_WAIT)
    except FutureTimeout:
        return error_response(504, f"worker {worker} did not take the verdict within {FEEDBACK_WAIT:g} s "
                                   "(it may still apply it)")
    except CommandFailed as exc:
        return error_response(503, str(exc))
    return json_response(200, {"taken": taken, "worker": worker, "verdict": verdict["verdict"]})


ROUTES: tuple[Route, ...] = (
    Route("GET", "/", index, "The status page (HTML, refreshes itself from /status)", content_type="text/html"),
    Route("GET", "/status", status, "What the status page shows: events/s, analyzers, outputs, latest findings",
          responses={200: "Status"}),
    Route("GET", "/health", health, "Ready and live, per process (supervisor, source, workers, sink, Redis)",
          responses={200: "Health", 503: "Health"}),
    Route("GET", "/health/live", health_live, "Live: the engine's main loop is running",
          responses={200: "Live", 503: "Live"}),
    Route("GET", "/metrics", metrics_text, "Prometheus metrics", content_type=metrics.CONTENT_TYPE),
    Route("GET", "/analyzers", analyzers, "Every analyzer: status, event types, counters, explanation",
          responses={200: "Analyzers"}),
    Route("GET", "/analyzers/{tag}", analyzer, "One analyzer", responses={200: "Analyzer", 404: "Error"}),
    Route("GET", "/www/{name}", www, "A file of the root's www/ folder (Dragonfly's analyzer explanations)",
          responses={404: "Error"}),
    Route("GET", "/openapi.json", openapi_document, "This API's OpenAPI 3 document"),
    Route("POST", "/reload", reload, "Reload the scripts, as SIGHUP does; answers once every worker runs them",
          token=True,
          responses={200: "Reloaded", 422: "Reloaded", 503: "Error", 504: "Error"}),
    Route("POST", "/feedback", feedback, "An analyst's verdict on an event, to the analyzers that learn from it",
          token=True, body="Verdict", responses={200: "FeedbackTaken", 400: "Error", 503: "Error", 504: "Error"}),
)


class Router:
    """Finds the route of a request, checks the token, answers 404/405 otherwise."""

    def __init__(self, host: ApiHost, routes: tuple[Route, ...] = ROUTES) -> None:
        self.host = host
        self.routes = [(route, route.pattern()) for route in routes]

    def dispatch(self, request: Request) -> Response:
        allowed: list[str] = []
        for route, pattern in self.routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method and not (route.method == "GET" and request.method == "HEAD"):
                allowed.append(route.method)
                continue
            if route.token:
                refused = self.host.token.check(request.headers.get("Authorization"))
                if refused == 401:
                    return error_response(401, "this request needs the API token: Authorization: Bearer TOKEN",
                                          **{"WWW-Authenticate": 'Bearer realm="mle"'})
                if refused:
                    return error_response(403, "wrong API token")
            request.params = match.groupdict()
            return route.handler(self.host, request)
        if allowed:
            methods = ", ".join(sorted(set(allowed)))
            return error_response(405, f"{request.method} is not allowed on {request.path} (allowed: {methods})",
                                  Allow=methods)
        return error_response(404, f"no such path: {request.path} (see /openapi.json)")
