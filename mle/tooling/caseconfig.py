"""The config.lua a golden case runs with: the root's, pointed at the case's input.

What the case runs is what the root runs: the root's first input script, every
analyzer the root has (its config entries and the dropped-in files), its ``mle``
settings, runtime and serial order. The runner replaces what would reach outside a
test: the input reads the case's ``input.json``, one file output collects every
event (analyzers' ``default_output`` point to it), Redis is a private throwaway
server, and the run and log directories are the case's scratch folder.

A case's own ``config.lua`` is merged over that: ``mle = {...}`` key by key,
``analyzers`` entries by tag (a case entry's ``settings`` merge over the root
entry's; a new tag is added), ``modules`` replaced.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from mle.config import Config, read_config_values
from mle.errors import ConfigError
from mle.tooling.luavalue import to_lua

#: the output every event of a case is collected from
GOLDEN_OUTPUT = "golden"
#: what a case's config.lua may set
CASE_SETTINGS = ("analyzers", "mle", "modules")
#: the keys of the root's input entry a case keeps (its script and limits, not its transport)
_INPUT_KEYS = ("tag", "script", "default_analyzer", "max_instructions", "quarantine_after", "sequential",
               "allow_network", "allow_eval")


def merge(base: Any, over: Any) -> Any:
    """``over`` merged over ``base``: dicts key by key (recursively), anything else replaced.

    >>> merge({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"d": 4}, "e": 5})
    {'a': 1, 'b': {'c': 2, 'd': 4}, 'e': 5}
    """
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return copy.deepcopy(over)


def _entries(value: Any, where: str) -> list[dict[str, Any]]:
    if value is None or value == {}:
        return []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ConfigError(f"{where}: analyzers must be a list of tables {{ {{ tag = ..., ... }} }}")
    return value


def merge_analyzers(root_entries: list[dict[str, Any]], case_entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The root's analyzer entries with the case's merged in by tag (tags ignore case)."""
    merged = [copy.deepcopy(e) for e in root_entries]
    for entry in case_entries:
        tag = str(entry.get("tag", "")).lower()
        same = [i for i, e in enumerate(merged) if str(e.get("tag", "")).lower() == tag]
        if same:
            merged[same[0]] = merge(merged[same[0]], entry)
        else:
            merged.append(copy.deepcopy(entry))
    return merged


def case_values(root_config: Config, case_file: Path | None, input_path: Path, work: Path) -> dict[str, Any]:
    """The top-level settings of the config a case runs with (see the module docstring)."""
    root_values = read_config_values(root_config.root.config_file, ("analyzers", "mle", "modules"))
    case = read_config_values(case_file) if case_file is not None else {}
    for name in case:
        if name not in CASE_SETTINGS:
            raise ConfigError(f'{case_file}: "{name}" is not a setting a golden case may give '
                              f"(it may set {', '.join(CASE_SETTINGS)}; the runner sets inputs, outputs and Redis)")
    first_input = root_config.inputs[0]
    raw_inputs = read_config_values(root_config.root.config_file, ("inputs",)).get("inputs") or [{}]
    input_entry = {k: v for k, v in raw_inputs[0].items() if k in _INPUT_KEYS}
    input_entry.update(tag=first_input.tag, uri="file://" + str(input_path.resolve()))
    analyzers = merge_analyzers(_entries(root_values.get("analyzers"), str(root_config.root.config_file)),
                                _entries(case.get("analyzers"), str(case_file)))
    for entry in analyzers:
        if entry.get("default_output"):
            entry["default_output"] = GOLDEN_OUTPUT
    engine = root_values.get("mle") if isinstance(root_values.get("mle"), dict) else {}
    engine = merge(engine, {"runtime": root_config.lua_runtime, "serial": root_config.serial_order})
    engine = merge(engine, case.get("mle") or {})
    engine.update(run_dir=str(work / "run"), log_dir=str(work / "log"))
    engine.pop("workers", None)
    values: dict[str, Any] = {
        "inputs": [input_entry],
        "analyzers": analyzers,
        "outputs": [{"tag": GOLDEN_OUTPUT, "uri": "file://" + str(work / "golden.json")}],
        "mle": engine,
    }
    modules = case.get("modules", root_values.get("modules"))
    if modules:
        values["modules"] = modules
    return values


def render(values: dict[str, Any]) -> str:
    """A config.lua setting these values."""
    lines = ["-- written by mle test for one golden case"]
    lines += [f"{name} = {to_lua(value)}" for name, value in values.items()]
    return "\n".join(lines) + "\n"
