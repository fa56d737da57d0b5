#!/usr/bin/env python3
"""Documents per second into a real OpenSearch-compatible server (osmem-server).

    python benchmarks/bench_elasticsearch.py [--rounds 3] [--in-flight 4] [--bulk-docs 1000]

The workload is the bundled sample (data/eve/sample.eve.json.gz, 2,325 real
records), repeated ``--rounds`` times. Every document is really indexed
(``action = "index"``, ``doc_id = "none"``: repeated rounds would otherwise be
answered 409 as duplicates). Printed:

1. the sink alone (in this process) into osmem-server, raw EVE documents and the
   same records as ``outputs/ecs.lua`` shapes them;
2. the whole engine (``mle replay`` with a pass-through analyzer, a fresh process
   with its private Redis; wall clock, start-up included) into osmem-server,
   without and with ``ecs.lua``;
3. the sink's own ceiling: into a local stub that accepts every item at once.

osmem-server is an in-memory test server, much slower at indexing than a real
cluster, so (1) and (2) measure it as much as MLE; (3) is what the sink itself
can push. Timing belongs here, not in the test suite.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SAMPLE = REPO / "data" / "eve" / "sample.eve.json.gz"
sys.path.insert(0, str(REPO))

from mle.connectors import Context, build_sink  # noqa: E402
from mle.deadletter import DeadLetterWriter  # noqa: E402

PASS = "function loop(msg) dragonfly.output_event(default_output, msg) end\n"
CONFIG = """
inputs = {{ {{ tag = "eve", uri = "file://unused", default_analyzer = "pass" }} }}
analyzers = {{ {{ tag = "pass", script = "pass.lua", default_analyzer = "", default_output = "out" }} }}
outputs = {{ {{ tag = "out", uri = "{uri}"{extra} }} }}
"""


class Osmem:
    """An osmem-server process on a free port."""

    def __init__(self) -> None:
        from osmem_server import resolve_binary

        self.process = subprocess.Popen([resolve_binary(), "--addr", "127.0.0.1:0", "--no-ja"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        self.url = json.loads(self.process.stdout.readline())["url"]

    def count(self, index: str) -> int:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/{index}/_refresh", method="POST")).read()
        with urllib.request.urlopen(f"{self.url}/{index}/_count") as response:
            return json.loads(response.read())["count"]

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


class NullCluster:
    """Accepts every bulk item at once (the sink's ceiling)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                n = body.count(b"\n") // 2
                answer = b'{"errors":false,"items":[' + b",".join([b'{"index":{"status":201}}'] * n) + b"]}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def sink_rate(url: str, index: str, documents: list[bytes], options: dict, tmp: Path) -> tuple[float, dict]:
    """Documents/s through one ElasticsearchSink, from the first write to a completed close."""
    context = Context(root=tmp, run_dir=tmp / "run", log_dir=tmp / "log",
                      dead_letters=DeadLetterWriter(tmp / "dead.jsonl"))
    sink = build_sink("bench", f"elasticsearch+{url}/{index}", options, "bench", context)
    sink.open()
    started = time.perf_counter()
    for i in range(0, len(documents), 256):
        sink.write_batch(documents[i:i + 256])
    sink.close()
    elapsed = time.perf_counter() - started
    return len(documents) / elapsed, dict(sink.counts)


def ecs_documents(lines: list[bytes], tmp: Path) -> tuple[list[bytes], float]:
    """The sample as ecs.lua shapes it (through the real engine), and the engine's wall time."""
    root = make_root(tmp / "ecs-root", f"file://{tmp / 'ecs.json'}<", ', script = "ecs.lua"')
    source = tmp / "sample.json"
    source.write_bytes(b"\n".join(lines) + b"\n")
    elapsed = replay(root, source)
    return (tmp / "ecs.json").read_bytes().splitlines(), elapsed


def make_root(root: Path, uri: str, extra: str) -> Path:
    (root / "analyzers").mkdir(parents=True, exist_ok=True)
    (root / "outputs").mkdir(exist_ok=True)
    (root / "analyzers" / "pass.lua").write_text(PASS)
    (root / "outputs" / "ecs.lua").write_text((REPO / "outputs" / "ecs.lua").read_text())
    (root / "config.lua").write_text(CONFIG.format(uri=uri, extra=extra))
    return root


def replay(root: Path, source: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mle", "replay", str(source), "-r", str(root)],
                            cwd=REPO, capture_output=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr.decode())
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the sample is sent (default 3)")
    parser.add_argument("--in-flight", type=int, default=4, help="max_in_flight (default 4)")
    parser.add_argument("--bulk-docs", type=int, default=1000, help="bulk_max_docs (default 1000)")
    args = parser.parse_args()
    with gzip.open(SAMPLE) as f:
        lines = f.read().splitlines()
    options = {"action": "index", "doc_id": "none", "max_in_flight": args.in_flight,
               "bulk_max_docs": args.bulk_docs, "spill_max_bytes": 0}
    print(f"workload: {len(lines):,} records x {args.rounds} rounds; max_in_flight {args.in_flight}, "
          f"bulk_max_docs {args.bulk_docs}")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        ecs, _ = ecs_documents(lines, tmp)
        raw_docs, ecs_docs = lines * args.rounds, ecs * args.rounds
        server = Osmem()
        try:
            rate, counts = sink_rate(server.url, "bench-raw", raw_docs, options, tmp)
            assert server.count("bench-raw") == counts.get("delivered", 0), "documents missing on the server"
            print(f"sink -> osmem-server, raw EVE:      {rate:9,.0f} docs/s ({counts.get('delivered', 0):,} indexed, "
                  f"{counts.get('dead_lettered', 0):,} rejected)")
            rate, counts = sink_rate(server.url, "bench-ecs", ecs_docs, options, tmp)
            assert server.count("bench-ecs") == counts.get("delivered", 0), "documents missing on the server"
            print(f"sink -> osmem-server, ecs.lua docs: {rate:9,.0f} docs/s ({counts.get('delivered', 0):,} indexed, "
                  f"{counts.get('dead_lettered', 0):,} rejected)")
            source = tmp / "rounds.json"
            source.write_bytes(b"\n".join(raw_docs) + b"\n")
            extra = "".join(f", {k} = {json.dumps(v)}" for k, v in options.items())
            for label, script, index in (("without ecs.lua", "", "e2e-raw"), ("with ecs.lua   ", ', script = "ecs.lua"',
                                                                                "e2e-ecs")):
                root = make_root(tmp / f"root-{index}", f"elasticsearch+{server.url}/{index}", extra + script)
                elapsed = replay(root, source)
                stored = server.count(index)
                print(f"mle replay -> osmem-server, {label}: {stored / elapsed:9,.0f} docs/s "
                      f"({stored:,} indexed in {elapsed:.1f} s, start-up included)")
        finally:
            server.stop()
        null = NullCluster()
        try:
            for label, documents in (("raw EVE", raw_docs * 4), ("ecs.lua docs", ecs_docs * 4)):
                rate, _ = sink_rate(null.url, "null", documents, options, tmp)
                print(f"sink -> accept-all stub, {label}: {rate:9,.0f} docs/s (the sink's own ceiling)")
        finally:
            null.stop()


if __name__ == "__main__":
    main()
