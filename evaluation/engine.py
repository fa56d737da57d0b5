"""Run analyzers over EVE records through the real engine (``mle replay``) and read
back the annotated events: what the evaluation scripts share.

A throwaway MLE root holds the repository's input script, the analyzers asked for
(and any data files they read), and a config.lua with ``shard_key = "src_ip"`` (per-host
state on one worker, as the shipped config) and the analyzers' settings.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _lua_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def replay(events: Iterable[dict[str, Any]], analyzers: list[str],
           settings: dict[str, dict[str, Any]] | None = None,
           files: dict[str, Path] | None = None, workers: int = 1) -> list[dict[str, Any]]:
    """Replay ``events`` through ``analyzers`` (tags of analyzers/<tag>.lua) and return
    the annotated events in output order.

    ``settings``: per tag, settings for its config entry; ``files``: extra files to put
    in the root (relative path -> source file), e.g. a model the settings point to."""
    mle = Path(sys.executable).parent / "mle"
    command = [str(mle)] if mle.exists() else [sys.executable, "-m", "mle"]
    with tempfile.TemporaryDirectory(prefix="mle-eval-") as tmp:
        root = Path(tmp)
        (root / "inputs").mkdir()
        (root / "analyzers").mkdir()
        shutil.copytree(ROOT / "analyzers" / "data", root / "analyzers" / "data")
        shutil.copy(ROOT / "inputs" / "suricata-filter.lua", root / "inputs")
        for tag in analyzers:
            shutil.copy(ROOT / "analyzers" / f"{tag}.lua", root / "analyzers")
        for rel, src in (files or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, root / rel)
        entries = []
        for tag, values in (settings or {}).items():
            body = ", ".join(f"{k} = {_lua_value(v)}" for k, v in values.items())
            entries.append(f'  {{ tag = "{tag}", script = "{tag}.lua", settings = {{ {body} }} }},')
        data = root / "input.json"
        with data.open("w") as f:
            for event in events:
                f.write(json.dumps(event, separators=(",", ":")) + "\n")
        config = [
            'mle = { shard_key = "src_ip" }',
            'inputs = { { tag = "eve", uri = "file://input.json", script = "suricata-filter.lua" } }',
            'outputs = { { tag = "out", uri = "file://out.json" } }',
        ]
        if entries:
            config.append("analyzers = {\n" + "\n".join(entries) + "\n}")
        (root / "config.lua").write_text("\n".join(config) + "\n")
        out = root / "out.json"
        subprocess.run([*command, "replay", "-r", str(root), "-w", str(workers), "--out", str(out),
                        "--quiet-scripts"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return [json.loads(line) for line in out.open()]


def confusion(truth: list[bool], predicted: list[bool]) -> dict[str, float]:
    """tp, fp, tn, fn, precision, recall."""
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    tn = len(truth) - tp - fp - fn
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0}


def roc_auc(truth: list[bool], scores: list[float]) -> float:
    """Exact ROC AUC (Mann-Whitney, ties half)."""
    pairs = sorted(zip(scores, truth, strict=True))
    pos = sum(truth)
    neg = len(truth) - pos
    if not pos or not neg:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg = (i + 1 + j) / 2
        rank_sum += avg * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
