"""What a running engine publishes for the HTTP API: its processes, counters,
outputs, latency, queues and latest findings.

The engine's main thread writes (the supervisor from its children's reports,
the single-process engine from its own objects); HTTP threads read a
consistent copy (:meth:`LiveState.snapshot`). A worker's counters restart from
zero when it is replaced: the counts of the process it replaced are kept, so
totals never go down (what Prometheus counters require).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import deque
from typing import Any

from mle.findings import FindingStore

RATE_WINDOW = 10.0  # seconds over which events/s is measured


def merge_counters(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Add up workers' counters (``Worker.counters()``): numbers and maps of numbers add,
    script rows add by (kind, tag), lists are joined without repeats. A script's
    ``quarantined`` becomes the number of parts where it was quarantined."""
    total: dict[str, Any] = {"scripts": []}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for part in parts:
        for row in part.get("scripts", []):
            merged = rows.get((row["kind"], row["tag"]))
            if merged is None:
                merged = rows[(row["kind"], row["tag"])] = {"id": row["id"], "kind": row["kind"], "tag": row["tag"],
                                                            "quarantined": 0}
            for key, value in row.items():
                if key == "quarantined":
                    merged[key] += bool(value)
                elif key == "quarantined_types":
                    types = set(filter(None, merged.get(key, "").split(","))) | set(filter(None, value.split(",")))
                    merged[key] = ",".join(sorted(types))
                elif isinstance(value, int | float) and not isinstance(value, bool) and key != "id":
                    merged[key] = merged.get(key, 0) + value
        for key, value in part.items():
            if key == "scripts":
                continue
            if isinstance(value, bool | str):
                total.setdefault(key, value)
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, dict):
                target = total.setdefault(key, {})
                for k, n in value.items():
                    if isinstance(n, int | float):
                        target[k] = target.get(k, 0) + n
                    else:  # e.g. an analyzer's declared event types: the same in every worker
                        target.setdefault(k, n)
            elif isinstance(value, list):
                target_list = total.setdefault(key, [])
                target_list += [v for v in value if v not in target_list]
    total["scripts"] = sorted(rows.values(), key=lambda r: r["id"])
    return total


class LiveState:
    """The latest of everything the API shows, behind one lock."""

    def __init__(self, *, mode: str, workers: int, root: str, shard_key: str) -> None:
        self._lock = threading.Lock()
        self.engine = {"mode": mode, "workers": workers, "root": root, "shard_key": shard_key,
                       "started": time.time(), "pid": None}
        self._processes: dict[str, dict[str, Any]] = {}
        self._workers: dict[str, tuple[int, dict[str, Any]]] = {}  # name -> (pid, latest counters)
        self._gone: list[dict[str, Any]] = []  # final counters of replaced workers
        self._sink: dict[str, Any] = {}
        self._source: dict[str, Any] = {}
        self._findings = FindingStore()
        self._rate: deque[tuple[float, int]] = deque()
        self._restarts = 0
        self._reload: dict[str, Any] | None = None
        self._tick = time.monotonic()

    # writers (the engine's main thread) ---------------------------------------------------
    def tick(self) -> None:
        """The engine's main loop is alive (liveness)."""
        self._tick = time.monotonic()

    def set_process(self, name: str, **status: Any) -> None:
        """A process's status: pid, alive, ready, state ("starting", "running", "retiring", "done")."""
        with self._lock:
            self._processes[name] = status

    def set_restarts(self, restarts: int) -> None:
        with self._lock:
            self._restarts = restarts

    def worker_report(self, name: str, pid: int, counters: dict[str, Any]) -> None:
        """A worker's counters; a new pid under the same name means a replacement."""
        with self._lock:
            previous = self._workers.get(name)
            if previous is not None and previous[0] != pid:
                self._gone.append(previous[1])
            self._workers[name] = (pid, counters)

    def sink_report(self, report: dict[str, Any]) -> None:
        """What the outputs wrote; its new findings join the store."""
        findings = report.pop("findings", [])
        with self._lock:
            self._sink = report
            for record in findings:
                self._findings.add(record)

    def source_report(self, report: dict[str, Any]) -> None:
        """Lines read per input, latency, queue depths."""
        with self._lock:
            self._source = report
            lines = sum(report.get("lines", {}).values())
            self._sample(lines)

    def reloaded(self, loaded: bool) -> None:
        with self._lock:
            self._reload = {"time": time.time(), "loaded": loaded}

    def _sample(self, lines: int) -> None:
        now = time.monotonic()
        self._rate.append((now, lines))
        while len(self._rate) > 2 and now - self._rate[0][0] > RATE_WINDOW:
            self._rate.popleft()

    # readers (HTTP threads) ------------------------------------------------------------------
    def seconds_since_tick(self) -> float:
        return time.monotonic() - self._tick

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything, with the workers' counters added up."""
        with self._lock:
            counters = merge_counters([*self._gone, *(c for _, c in self._workers.values())])
            first, last = (self._rate[0], self._rate[-1]) if self._rate else ((0.0, 0), (0.0, 0))
            rate = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0
            return copy.deepcopy({
                "engine": {**self.engine, "uptime": time.time() - self.engine["started"]},
                "processes": self._processes,
                "restarts": self._restarts,
                "counters": counters,
                "sink": self._sink,
                "source": self._source,
                "findings": self._findings.latest(),
                "events_per_second": rate,
                "reload": self._reload,
            })
