"""The status page (``/``) and what it shows (``/status``).

One self-contained HTML file (``status.html``: inline CSS and JavaScript, no build
step, nothing fetched from elsewhere) that asks ``/status`` every two seconds and
redraws. Everything a script or an event wrote (reasons, tags) is set as text,
never as HTML, and the Content-Security-Policy allows only the page's own
script and style (by hash) and requests to the engine itself.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from mle.http.analyzers import analyzer_rows
from mle.runtime.latency import BOUNDS, quantile

if TYPE_CHECKING:
    from mle.http.host import ApiHost

FINDINGS_SHOWN = 50


@cache
def html() -> bytes:
    """The page."""
    return files("mle.http").joinpath("status.html").read_bytes()


def _hash(tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>".encode(), html(), re.DOTALL)
    assert match is not None, f"status.html has no <{tag}>"
    return "'sha256-" + base64.b64encode(hashlib.sha256(match.group(1)).digest()).decode() + "'"


CSP = (f"default-src 'none'; script-src {_hash('script')}; style-src {_hash('style')}; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _seconds(bound: float | None) -> float | str | None:
    """A latency bucket's bound, or "> N s" past the last one (JSON has no infinity)."""
    return f"> {BOUNDS[-1]:g} s" if bound == float("inf") else bound


def status(host: ApiHost) -> dict[str, Any]:
    """Everything the page shows, as one JSON document."""
    snap = host.state.snapshot()
    counters, sink, source = snap["counters"], snap["sink"], snap["source"]
    lines = source.get("lines") or counters.get("lines_in", {})
    outputs = [{"tag": o["tag"], "where": o["where"], "written": o["lines"], "failed": sum(o["errors"].values()),
                "retries": o["counts"].get("retries", 0) + o["counts"].get("retried_items", 0)}
               for o in sink.get("outputs", [])]
    latency = source.get("latency")
    return {
        "engine": {**snap["engine"], "runtime": counters.get("runtime", "")},
        "events_per_second": snap["events_per_second"],
        "totals": {
            "lines_in": sum(lines.values()),
            "written": sum(o["written"] for o in outputs),
            "dead_letters": counters.get("dead_letters", 0) + sink.get("dead_letters", 0)
            + source.get("dead_letters", 0),
            "findings": sink.get("findings_seen", 0),
            "script_errors": sum(r.get("n_err", 0) for r in counters.get("scripts", [])),
            "restarts": snap["restarts"],
        },
        "latency": {"p50": _seconds(quantile(latency, 0.5)), "p99": _seconds(quantile(latency, 0.99))}
        if latency else {},
        "processes": snap["processes"],
        "analyzers": analyzer_rows(host.config, counters, host.workers, with_doc=False),
        "outputs": outputs,
        "findings": snap["findings"][:FINDINGS_SHOWN],
        "reload": snap["reload"],
    }
