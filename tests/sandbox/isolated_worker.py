"""A worker in its own process, for attacks that may hang it (see conftest.isolated).

Reads {"root", "overrides", "batches"} as JSON on stdin; prints {"started": true}
once the scripts are loaded, then one JSON line per processed batch. No Redis."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from mle.config import load_config
from mle.deadletter import DeadLetterWriter
from mle.root import Root
from mle.worker import Worker


def main() -> None:
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    request = json.load(sys.stdin)
    root = Path(request["root"])
    config = load_config(Root.locate(root), request["overrides"])
    worker = Worker(config, None, DeadLetterWriter(root / "dead-letters.jsonl"))
    worker.start()
    worker.take_output()
    print(json.dumps({"started": True}), flush=True)
    for batch in request["batches"]:
        t0 = time.perf_counter()
        result = worker.process([line.encode() for line in batch], config.inputs[0].tag)
        print(json.dumps({
            "elapsed": time.perf_counter() - t0,
            "lines": {str(k): [line.decode() for line in v] for k, v in result.lines.items()},
            "engine_errors": worker.engine_errors,
            "stats": worker.script_stats(),
        }), flush=True)


if __name__ == "__main__":
    main()
