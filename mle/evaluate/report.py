"""An evaluation end to end: the runs, the baselines, the metrics; a table and a JSON document.

``evaluate`` runs the stream online (feedback on every labeled event), then, unless
told not to, the frozen baseline (the same run with feedback only during burn-in, or
until ``freeze_at``: the streaming model as it was then) and the batch baseline
(:mod:`mle.evaluate.baselines`). Metrics:

- ``overall``: every scored event after burn-in (online and frozen);
- ``test``: every scored event after the split (``train_fraction`` of the stream), the
  events the batch model did not train on: the three models side by side;
- ``windows``: consecutive windows of ``window`` scored events after burn-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from mle.config import Config
from mle.evaluate import metrics
from mle.evaluate.baselines import BaselineUnavailable, batch_baseline
from mle.evaluate.labels import Labeled, LabelSource, read_labeled
from mle.evaluate.runner import RunResult, Scores, run_stream

MODELS = ("online", "frozen", "batch")


@dataclass
class Settings:
    """What an evaluation does (the options of ``mle evaluate``)."""

    burn_in: int = 1000
    threshold: float = 0.5
    window: int = 1000
    train_fraction: float = 0.5
    tags: list[str] | None = None
    frozen: bool = True
    batch: bool = True
    freeze_at: int | None = None  # where the frozen copy stops learning (default: the end of burn-in)

    @property
    def freeze_position(self) -> int:
        return self.burn_in if self.freeze_at is None else self.freeze_at


@dataclass
class Report:
    """The JSON document and, per analyzer and model, the scores it was computed from."""

    doc: dict[str, Any]
    scores: dict[str, dict[str, Scores]] = field(default_factory=dict)  # tag -> model -> (after burn-in) scores
    online: RunResult | None = None


def _summary(s: Scores, threshold: float) -> dict[str, Any] | None:
    return metrics.summarize(s.labels, s.scores, threshold).as_dict() if s.labels else None


def evaluate(root_config: Config, files: list[str], labels: LabelSource, settings: Settings,
             progress: Callable[[str, int], None] | None = None) -> Report:
    """Run the evaluation (module docstring)."""
    def events() -> Iterator[Labeled]:
        return read_labeled(files, labels)

    tick = (lambda name: (lambda position: progress(name, position))) if progress else (lambda name: None)
    online = run_stream(root_config, events(), tags=settings.tags, on_event=tick("online"),
                        record_features=settings.batch)
    frozen = None
    if settings.frozen:
        frozen = run_stream(root_config, events(), tags=settings.tags, learn_until=settings.freeze_position,
                            on_event=tick("frozen"), record_features=False)
    split = int(online.events * settings.train_fraction)
    doc: dict[str, Any] = {
        "data": [str(Path(f)) for f in files], "labels": labels.describe(), "config": str(root_config.root.config_file),
        "events": online.events, "labeled": online.labeled, "verdicts": online.feedback,
        "burn_in": settings.burn_in, "frozen_at": settings.freeze_position if frozen else None,
        "threshold": settings.threshold, "window": settings.window, "split": split,
        "seconds": {"online": round(online.seconds, 3)} | ({"frozen": round(frozen.seconds, 3)} if frozen else {}),
        "us_per_event": round(1e6 * online.seconds / online.events, 1) if online.events else None,
        "drift": online.drift, "analyzers": {},
    }
    report = Report(doc, online=online)
    for tag, scored in sorted(online.by_tag.items()):
        entry: dict[str, Any] = {"overall": {}, "test": {}, "windows": {}}
        by_model: dict[str, Scores] = {"online": scored.after(settings.burn_in)}
        if frozen is not None and tag in frozen.by_tag:
            by_model["frozen"] = frozen.by_tag[tag].after(settings.burn_in)
        if settings.batch:
            try:
                batch = batch_baseline(scored, split)
                by_model["batch"] = batch.test
                entry["batch"] = {"trained_on": batch.trained_on, "n_features": batch.n_features,
                                  "model": batch.model}
            except BaselineUnavailable as exc:
                entry["batch"] = {"error": str(exc)}
        for model, s in by_model.items():
            if model != "batch":
                entry["overall"][model] = _summary(s, settings.threshold)
            entry["test"][model] = _summary(s.after(split), settings.threshold)
            entry["windows"][model] = [w.as_dict() for w in metrics.windows(
                s.positions, s.labels, s.scores, settings.window, settings.threshold)]
        doc["analyzers"][tag] = entry
        report.scores[tag] = by_model
    return report


def write_json(report: Report, path: str | Path) -> None:
    Path(path).write_bytes(orjson.dumps(report.doc, option=orjson.OPT_INDENT_2) + b"\n")


def _cell(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render(report: Report, console: Console) -> None:
    """The terminal table: per analyzer, each model after burn-in and on the test split."""
    doc = report.doc
    console.print(f"{doc['events']:,} events ({doc['labeled']:,} labeled, {doc['labels']}), burn-in "
                  f"{doc['burn_in']:,}, threshold {doc['threshold']}, split at event {doc['split']:,}; "
                  f"online run {doc['seconds']['online']:.1f} s ({doc['us_per_event']} µs/event)")
    if not doc["analyzers"]:
        console.print("[yellow]no analyzer scored a labeled event[/yellow]")
    for tag, entry in doc["analyzers"].items():
        table = Table(title=f"analyzer {tag}", title_justify="left")
        for name in ("model", "part", "events", "precision", "recall", "F1", "ROC AUC", "log loss"):
            table.add_column(name, justify="left" if name in ("model", "part") else "right")
        for part, label in (("overall", "after burn-in"), ("test", "after split")):
            for model in MODELS:
                s = entry[part].get(model)
                if s is None:
                    continue
                table.add_row(model, label, f"{s['events']:,}", _cell(s["precision"]), _cell(s["recall"]),
                              _cell(s["f1"]), _cell(s["roc_auc"]), _cell(s["log_loss"]))
        console.print(table)
        if "error" in entry.get("batch", {}):
            console.print(f"  batch baseline: {entry['batch']['error']}")
    for d in doc["drift"][:20]:
        console.print(f"  drift reported at event {d['position']:,}: {d.get('drift')}")
