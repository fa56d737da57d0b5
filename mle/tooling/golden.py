"""Golden cases: an analyzer's expected annotations on a small input, run through the engine.

Layout (under each analyzer folder of a root, ``analyzers/tests/``)::

    <tag>/<case>/input.json      EVE lines (or input.json.gz)
    <tag>/<case>/expected.json   JSON lines: the events that carry an annotation by <tag>
                                 (a score, a finding or an error), in output order, each a pattern
    <tag>/<case>/config.lua      optional: mle = {...}, analyzers = { { tag = ..., settings = ... } }

A case runs in one process with a private Redis of its own, as
``mle replay --workers 0`` would, with the root's input script and every analyzer of
the root (:mod:`mle.tooling.caseconfig`). Of the events the output receives, those
annotated by <tag> are lined up with the patterns (:mod:`mle.tooling.patterns`).
Before an event is compared with a pattern, its ``mle.findings`` and ``mle.errors``
are narrowed to the entries of <tag> and of any analyzer the pattern's own entries
name: other analyzers' findings do not make a case fail, scores and every other key
are checked only where the pattern names them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mle.config import Config, load_config
from mle.errors import ConfigError, MLEError
from mle.pipeline import Pipeline, replay
from mle.root import Root
from mle.tooling.caseconfig import case_values, render
from mle.tooling.patterns import Difference, Pairing, differences, line_up

INPUT_NAMES = ("input.json", "input.json.gz")
EXPECTED_NAME = "expected.json"
CONFIG_NAME = "config.lua"
#: top-level fields an updated pattern keeps to say which event it is
IDENTITY = ("timestamp", "flow_id", "event_type", "src_ip", "dest_ip")


@dataclass(frozen=True)
class Case:
    """One golden case folder."""

    tag: str
    name: str
    folder: Path

    @property
    def label(self) -> str:
        return f"{self.tag}/{self.name}"

    @property
    def input(self) -> Path | None:
        for name in INPUT_NAMES:
            if (self.folder / name).is_file():
                return self.folder / name
        return None

    @property
    def expected(self) -> Path:
        return self.folder / EXPECTED_NAME

    @property
    def config(self) -> Path | None:
        path = self.folder / CONFIG_NAME
        return path if path.is_file() else None


def tests_folders(root: Root) -> list[Path]:
    """The ``tests/`` folders of the root's analyzer folders that exist."""
    return [folder / "tests" for folder in root.script_dirs("analyzer") if (folder / "tests").is_dir()]


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def discover(root: Root, tags: Sequence[str] = ()) -> list[Case]:
    """The cases of ``tags`` (tags ignore case), or every case. A tag with no case
    folder is a :class:`ConfigError`."""
    cases = [Case(tag.name, case.name, case) for tests in tests_folders(root) for tag in _subfolders(tests)
             for case in _subfolders(tag)]
    if not tags:
        return cases
    chosen = []
    for tag in tags:
        found = [c for c in cases if c.tag.lower() == tag.lower()]
        if not found:
            where = " or ".join(str(t.relative_to(root.path)) for t in tests_folders(root)) or "analyzers/tests"
            raise ConfigError(f'no golden cases for "{tag}": expected {where}/{tag}/<case>/input.json '
                              f"(mle new analyzer writes one)")
        chosen += found
    return chosen


@dataclass
class Outcome:
    """What a case produced and how it compares with expected.json."""

    case: Case
    produced: list[dict[str, Any]] = field(default_factory=list)  # the events annotated by the tag
    patterns: list[Any] = field(default_factory=list)
    pairs: list[Pairing] = field(default_factory=list)
    error: str | None = None  # the case could not run or be compared

    @property
    def passed(self) -> bool:
        return self.error is None and all(p.matched for p in self.pairs)

    def differences(self, pair: Pairing) -> list[Difference]:
        """The keys that differ between a pair's pattern and event."""
        assert pair.expected is not None and pair.got is not None
        pattern = self.patterns[pair.expected]
        return differences(pattern, narrow(self.produced[pair.got], self.case.tag, pattern))


def _by_tag(mapping: Any, tag: str) -> str | None:
    if isinstance(mapping, dict):
        for key in mapping:
            if key.lower() == tag.lower():
                return key
    return None


def _entries_of(value: Any, analyzers: set[str]) -> list[Any]:
    return [e for e in value if isinstance(e, dict) and str(e.get("analyzer", "")).lower() in analyzers]


def annotated_by(event: Any, tag: str) -> bool:
    """Whether ``event`` carries a score, a finding or an error of analyzer ``tag``."""
    mle = event.get("mle") if isinstance(event, dict) else None
    if not isinstance(mle, dict):
        return False
    wanted = {tag.lower()}
    return (_by_tag(mle.get("scores"), tag) is not None
            or any(_entries_of(mle.get(k) or [], wanted) for k in ("findings", "errors")
                   if isinstance(mle.get(k), list)))


def narrow(event: dict[str, Any], tag: str, pattern: Any) -> dict[str, Any]:
    """``event`` with ``mle.findings`` and ``mle.errors`` reduced to the entries of ``tag``
    and of the analyzers the pattern's own entries name (module docstring)."""
    mle = event.get("mle")
    if not isinstance(mle, dict):
        return event
    wanted = {tag.lower()}
    pattern_mle = pattern.get("mle") if isinstance(pattern, dict) else None
    narrowed = dict(mle)
    for key in ("findings", "errors"):
        if not isinstance(mle.get(key), list):
            continue
        named = pattern_mle.get(key) if isinstance(pattern_mle, dict) else None
        if isinstance(named, list):
            wanted |= {str(e["analyzer"]).lower() for e in named if isinstance(e, dict) and "analyzer" in e}
        narrowed[key] = _entries_of(mle[key], wanted)
        wanted = {tag.lower()}
    return {**event, "mle": narrowed}


def same_event(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether a pattern is about this event: the identity fields it names match."""
    return not differences({k: pattern[k] for k in IDENTITY if k in pattern}, event)


def pattern_of(event: dict[str, Any], tag: str) -> dict[str, Any]:
    """What ``--update`` writes for a produced event: the fields that say which event it
    is, and the tag's score, findings and errors."""
    pattern: dict[str, Any] = {k: event[k] for k in IDENTITY if k in event}
    mle = event.get("mle") or {}
    ours: dict[str, Any] = {}
    key = _by_tag(mle.get("scores"), tag)
    if key is not None:
        ours["scores"] = {key: mle["scores"][key]}
    for name in ("findings", "errors"):
        entries = _entries_of(mle.get(name) or [], {tag.lower()}) if isinstance(mle.get(name), list) else []
        if entries:
            ours[name] = entries
    pattern["mle"] = ours
    return pattern


def read_patterns(path: Path) -> list[Any]:
    """The patterns of an expected.json (JSON lines; blank lines skipped)."""
    patterns = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc})") from exc
        if not isinstance(value, dict):
            raise ConfigError(f"{path}:{number}: a pattern must be a JSON object, not {line[:60]!r}")
        patterns.append(value)
    return patterns


def run_case(case: Case, root_config: Config) -> list[dict[str, Any]]:
    """Every event the output receives when the case's input goes through the engine.
    Raises :class:`MLEError` when the case cannot run (bad config, a script that fails
    to load, no Redis)."""
    if case.input is None:
        raise ConfigError(f"{case.folder}: no input.json (or input.json.gz): the EVE lines the case replays")
    work = Path(tempfile.mkdtemp(prefix="mle-test-"))
    try:
        config_file = work / "config.lua"
        config_file.write_text(render(case_values(root_config, case.config, case.input, work)), encoding="utf-8")
        config = load_config(Root.locate(root_config.root.path, config_file))
        if all(spec.tag.lower() != case.tag.lower() for spec in config.analyzers):
            known = ", ".join(spec.tag for spec in config.analyzers) or "none"
            raise ConfigError(f'{case.folder}: no analyzer "{case.tag}" in {root_config.root.path} '
                              f"(the folder is named after the analyzer's tag; analyzers: {known})")
        with Pipeline(config, replay=True) as pipeline:
            replay(pipeline, pipeline.build_sources())
        output = work / "golden.json"
        return [orjson.loads(line) for line in output.read_bytes().splitlines()] if output.exists() else []
    finally:
        shutil.rmtree(work, ignore_errors=True)


def event_order(event: Any) -> tuple[str, str]:
    """Cases compare events by time and flow, not by the order they left the engine:
    events of different shards leave in the order they finish (README, serial semantics)."""
    if not isinstance(event, dict):
        return ("", "")
    return (str(event.get("timestamp", "")), str(event.get("flow_id", "")))


def check_case(case: Case, root_config: Config) -> Outcome:
    """Run a case and compare what it produced with its expected.json."""
    outcome = Outcome(case)
    try:
        outcome.produced = [e for e in run_case(case, root_config) if annotated_by(e, case.tag)]
        if not case.expected.is_file():
            raise ConfigError(f"{case.expected} does not exist: `mle test {case.tag} --update` writes it "
                              "from what the engine produces (review it before you commit it)")
        outcome.patterns = read_patterns(case.expected)
    except MLEError as exc:
        outcome.error = str(exc)
        return outcome
    outcome.produced.sort(key=event_order)
    outcome.patterns.sort(key=event_order)
    tag = case.tag
    outcome.pairs = line_up(outcome.patterns, outcome.produced, lambda p, e: differences(p, narrow(e, tag, p)),
                            same_event)
    return outcome


def update_case(case: Case, root_config: Config) -> Outcome:
    """Run a case and rewrite its expected.json from what the engine produced."""
    outcome = Outcome(case)
    try:
        outcome.produced = [e for e in run_case(case, root_config) if annotated_by(e, case.tag)]
    except MLEError as exc:
        outcome.error = str(exc)
        return outcome
    outcome.produced.sort(key=event_order)
    outcome.patterns = [pattern_of(e, case.tag) for e in outcome.produced]
    case.expected.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in outcome.patterns))
    outcome.pairs = [Pairing(i, i, True) for i in range(len(outcome.patterns))]
    return outcome
