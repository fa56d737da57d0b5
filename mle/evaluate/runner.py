"""The prequential run: every event through the real engine, its score read, then its label learnt.

One process, as ``mle replay --workers 0``: a private Redis, the root's first input
script and every analyzer of the root (the config ``mle test`` builds for a golden
case, :mod:`mle.tooling.caseconfig`), with ``record_features`` on so that analyzers
calling ``mle.features`` leave their features in the annotation. For each line, in
order:

1. the label is taken off the record (:mod:`mle.evaluate.labels`);
2. the record runs through the input script and the analyzers (``Worker.process``
   with that one line), and each analyzer's ``mle.scores.<tag>`` (and
   ``mle.features.<tag>``) is read from the annotated event the output receives;
3. then, if the event is labeled and learning is still on (``learn_until``), its
   verdict goes to every analyzer that defines ``feedback(fb)`` (``Worker.feedback``):
   ``fb.verdict`` is "malicious" or "benign", ``fb.event`` the record (without the
   label), ``fb.flow_id`` its flow, ``fb.note`` "mle evaluate".

Log events (``dragonfly.log_event``) carrying a ``drift`` field, sent while the event
or its feedback ran, are kept with the event's position: that is how an analyzer's
drift detector shows on the plots (one with an ``analyzer`` field naming an analyzer
that is not evaluated is left out).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mle.config import Config, load_config
from mle.errors import ConfigError
from mle.evaluate.labels import Labeled
from mle.pipeline import Pipeline
from mle.root import Root
from mle.tooling.caseconfig import case_values, render
from mle.worker import LOG_OUTPUT


@dataclass
class Scores:
    """What one analyzer scored: parallel lists, in stream order."""

    positions: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    features: list[dict[str, Any] | None] = field(default_factory=list)

    def after(self, position: int) -> Scores:
        """The events at or after stream position ``position``."""
        keep = [i for i, p in enumerate(self.positions) if p >= position]
        return Scores([self.positions[i] for i in keep], [self.labels[i] for i in keep],
                      [self.scores[i] for i in keep], [self.features[i] for i in keep])

    def before(self, position: int) -> Scores:
        keep = [i for i, p in enumerate(self.positions) if p < position]
        return Scores([self.positions[i] for i in keep], [self.labels[i] for i in keep],
                      [self.scores[i] for i in keep], [self.features[i] for i in keep])


@dataclass
class RunResult:
    """Everything one pass over the stream produced."""

    by_tag: dict[str, Scores] = field(default_factory=dict)
    drift: list[dict[str, Any]] = field(default_factory=list)  # {"position": n, ...the log event}
    events: int = 0
    labeled: int = 0
    feedback: int = 0  # verdicts delivered (to any number of analyzers)
    seconds: float = 0.0


def evaluation_config(root_config: Config, work: Path, data: Path, record_features: bool = True) -> Config:
    """The config of an evaluation run: the root's input script and analyzers, one file
    output in ``work`` (never written: the runner reads what reaches it), a private
    Redis, and ``record_features`` on (unless told otherwise)."""
    values = case_values(root_config, None, data, work)
    values["mle"]["record_features"] = record_features
    config_file = work / "config.lua"
    config_file.write_text(render(values).replace("mle test for one golden case", "mle evaluate"),
                           encoding="utf-8")
    return load_config(Root.locate(root_config.root.path, config_file))


def load_root_config(path: str | Path) -> Config:
    """The config named on the command line: a config.lua file, or a root folder."""
    target = Path(path)
    if target.is_dir():
        return load_config(Root.locate(target))
    if not target.is_file():
        raise ConfigError(f"{path}: no such config file or root folder")
    return load_config(Root.locate(target.resolve().parent, target.resolve()))


def run_stream(
    root_config: Config,
    events: Iterable[Labeled],
    *,
    tags: list[str] | None = None,
    learn_until: int | None = None,
    on_event: Callable[[int], None] | None = None,
    record_features: bool = True,
) -> RunResult:
    """Run ``events`` through the engine prequentially (module docstring). ``tags``:
    the analyzers whose scores to keep (default: every one that scores); ``learn_until``:
    deliver verdicts only for events before this stream position (the frozen model);
    ``record_features``: turn mle.features on (the batch baseline's input; it costs time)."""
    work = Path(tempfile.mkdtemp(prefix="mle-evaluate-"))
    result = RunResult()
    wanted = {t.lower() for t in tags} if tags else None
    try:
        if not root_config.inputs:
            raise ConfigError(f"{root_config.root.config_file}: no input: mle evaluate runs the events through "
                              "the first input's script")
        # the input's file is never read: the runner hands each line to the worker itself
        config = evaluation_config(root_config, work, work / "stream.json", record_features)
        input_tag = config.inputs[0].tag
        output = config.outputs[0].index
        with Pipeline(config, replay=True) as pipeline:
            worker = pipeline.worker
            assert worker is not None
            worker.take_output()
            started = time.perf_counter()
            for item in events:
                result.events += 1
                produced = worker.process([item.line], input_tag).lines
                _drift(produced.get(LOG_OUTPUT), item.position, wanted, result)
                lines = produced.get(output)
                label = item.label
                if label is not None:
                    result.labeled += 1
                    if lines:
                        _keep_scores(lines[0], item.position, label, wanted, result)
                    if item.record is not None and (learn_until is None or item.position < learn_until):
                        verdict: dict[str, Any] = {"verdict": "malicious" if label else "benign",
                                                   "event": item.record, "note": "mle evaluate"}
                        flow_id = item.record.get("flow_id")
                        if isinstance(flow_id, int) and not isinstance(flow_id, bool):
                            verdict["flow_id"] = flow_id
                        taken, after = worker.feedback(verdict)
                        result.feedback += 1 if taken else 0
                        _drift(after.lines.get(LOG_OUTPUT), item.position, wanted, result)
                if on_event is not None:
                    on_event(item.position)
            result.seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _keep_scores(line: bytes, position: int, label: int, wanted: set[str] | None, result: RunResult) -> None:
    event = orjson.loads(line)
    annotation = event.get("mle") if isinstance(event, dict) else None
    if not isinstance(annotation, dict):
        return
    scores = annotation.get("scores")
    if not isinstance(scores, dict):
        return
    features = annotation.get("features") if isinstance(annotation.get("features"), dict) else {}
    for tag, score in scores.items():
        if wanted is not None and tag.lower() not in wanted:
            continue
        if not isinstance(score, int | float):
            continue
        kept = result.by_tag.get(tag)
        if kept is None:
            kept = result.by_tag[tag] = Scores()
        kept.positions.append(position)
        kept.labels.append(label)
        kept.scores.append(float(score))
        kept.features.append(features.get(tag))


def _drift(lines: list[bytes] | None, position: int, wanted: set[str] | None, result: RunResult) -> None:
    for line in lines or ():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(record, dict) or "drift" not in record:
            continue
        analyzer = record.get("analyzer")
        if wanted is None or not isinstance(analyzer, str) or analyzer.lower() in wanted:
            result.drift.append({"position": position, **record})
