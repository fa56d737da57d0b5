"""Shared pieces of the evaluation scripts: run analyzers through the real engine
(``mle replay`` in a subprocess, private Redis, ``shard_key = "src_ip"`` as the shipped
config) over an EVE file or a list of records and read back the annotated events;
precision and recall from confusion counts; the ROC AUC of a score."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path("/work/shared/data")


def lua_value(value: object) -> str:
    """A Python value as a Lua literal (numbers, strings, booleans, lists, dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "{ " + ", ".join(lua_value(v) for v in value) + " }"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"[{json.dumps(k)}] = {lua_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no Lua literal for {value!r}")


@dataclass
class Replay:
    """What one run produced: the annotated events and the wall time of the replay."""

    events: list[dict]
    seconds: float


def replay(eve: Path, analyzers: list[str], settings: dict[str, dict] | None = None,
           data_dirs: list[str] | None = None, mle: dict | None = None,
           extra_files: dict[str, Path] | None = None, workers: int = 0) -> Replay:
    """Replay ``eve`` through the shipped input script and the analyzers named (file
    names under analyzers/, e.g. ``"tls.lua"``) in a scratch root; ``settings`` per tag
    go into config.lua entries, ``data_dirs`` (folders under analyzers/) are copied, and
    ``extra_files`` (path in the root -> file) too. ``workers`` 0: one process, so
    per-worker state is reproducible."""
    with tempfile.TemporaryDirectory(prefix="mle-eval-") as tmp:
        root = Path(tmp)
        (root / "inputs").mkdir()
        (root / "analyzers").mkdir()
        shutil.copy(REPO / "inputs/suricata-filter.lua", root / "inputs")
        for name in analyzers:
            shutil.copy(REPO / "analyzers" / name, root / "analyzers")
        for folder in data_dirs or []:
            shutil.copytree(REPO / "analyzers" / folder, root / "analyzers" / folder)
        for target, source in (extra_files or {}).items():
            (root / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / target)
        out = root / "out.json"
        entries = [
            f'{{ tag = {json.dumps(tag)}, script = {json.dumps(tag + ".lua")}, settings = {lua_value(values)} }}'
            for tag, values in (settings or {}).items()
        ]
        engine = {"shard_key": "src_ip", **(mle or {})}
        (root / "config.lua").write_text(
            f'inputs = {{ {{ tag = "eve", uri = {json.dumps("file://" + str(eve.resolve()))}, '
            f'script = "suricata-filter.lua" }} }}\n'
            + (f"analyzers = {{ {', '.join(entries)} }}\n" if entries else "")
            + f'outputs = {{ {{ tag = "out", uri = {json.dumps("file://" + str(out) + "<")} }} }}\n'
            + f"mle = {lua_value(engine)}\n")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "mle", "replay", "-r", str(root), "--workers", str(workers),
                               "--no-progress", "--quiet-scripts", "--top", "0"],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"mle replay failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        events = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        return Replay(events, seconds)


def replay_records(records: Iterable[dict], analyzers: list[str], **options: object) -> list[dict]:
    """:func:`replay` of records (written to a scratch EVE file), with every data folder
    the analyzers may read (analyzers/data); ``analyzers`` are tags."""
    with tempfile.TemporaryDirectory(prefix="mle-eval-records-") as tmp:
        eve = Path(tmp) / "input.json"
        with eve.open("w") as f:
            for record in records:
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
        return replay(eve, [f"{tag}.lua" for tag in analyzers], data_dirs=["data"],  # type: ignore[arg-type]
                      **options).events


def read_eve(path: Path) -> Iterator[dict]:
    """The records of a (gzip'd) EVE file; lines that are not JSON are skipped."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def findings_of(event: dict, tag: str) -> list[str]:
    """The reasons of ``tag``'s findings on an annotated event."""
    return [f.get("reason", "") for f in (event.get("mle") or {}).get("findings", []) if f.get("analyzer") == tag]


def score_of(event: dict, tag: str) -> float | None:
    """``tag``'s score on an annotated event (None when it scored nothing)."""
    return ((event.get("mle") or {}).get("scores") or {}).get(tag)


@dataclass
class Confusion:
    """Confusion counts of a binary detector."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        """Count one case."""
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 0 when there are no positives."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def row(self, name: str) -> str:
        """One line of the results table."""
        return (f"{name:<34} precision {self.precision:6.3f}  recall {self.recall:6.3f}   "
                f"tp {self.tp:5d}  fp {self.fp:5d}  fn {self.fn:5d}  tn {self.tn:6d}")

    def as_dict(self) -> dict[str, float]:
        """The counts, precision and recall."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": self.precision, "recall": self.recall}


def confusion(truth: Iterable[bool], predicted: Iterable[bool]) -> dict[str, float]:
    """Confusion counts, precision and recall of a prediction against the truth."""
    counts = Confusion()
    for actual, guess in zip(truth, predicted, strict=True):
        counts.add(bool(guess), bool(actual))
    return counts.as_dict()


def roc_auc(truth: list[bool], scores: list[float]) -> float:
    """Exact ROC AUC (Mann-Whitney, ties count half); nan with one class."""
    pairs = sorted(zip(scores, truth, strict=True), key=lambda pair: pair[0])
    pos = sum(truth)
    neg = len(truth) - pos
    if not pos or not neg:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        rank_sum += (i + 1 + j) / 2 * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
