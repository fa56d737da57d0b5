"""``mle new analyzer NAME``: a commented analyzer to start from, with a golden case
that passes as written.

Writes ``analyzers/NAME.lua`` (declaration, settings, setup, a loop that scores and
reports a finding with a reason, state in Redis, a ``feedback(fb)`` hook) and
``analyzers/tests/NAME/burst/`` (input.json, expected.json, config.lua). Nothing is
overwritten: an existing file or case folder, or a tag the root already uses, stops
it before anything is written.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from mle.config import Config
from mle.errors import ConfigError

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
PLACEHOLDER = "__NAME__"
CASE_NAME = "burst"
_CASE_FILES = ("input.json", "expected.json", "config.lua")


def _template(*parts: str) -> str:
    return resources.files("mle.tooling").joinpath("templates", *parts).read_text(encoding="utf-8")


def new_analyzer(config: Config, name: str) -> list[Path]:
    """Write the analyzer ``name`` and its golden case into the root of ``config``;
    returns the files written. Raises :class:`ConfigError` when the name is not a
    usable tag, the root is not an MLE root, or something would be overwritten."""
    if not NAME.match(name):
        raise ConfigError(f'analyzer name "{name}": use lower-case letters, digits, "-" and "_", '
                          "starting with a letter (it is the file name and the tag)")
    root = config.root
    if root.layout != "mle":
        raise ConfigError(f"{root.path} is a Dragonfly root: mle new writes drop-in analyzers for an MLE root "
                          "(config.lua beside analyzers/)")
    folder = root.script_dirs("analyzer")[0]
    script = folder / f"{name}.lua"
    case = folder / "tests" / name / CASE_NAME
    taken = [spec for spec in config.analyzers if spec.tag.lower() == name]
    for path in (script, case):
        if path.exists():
            raise ConfigError(f"{path} already exists: nothing written (mle new does not overwrite)")
    if taken:
        raise ConfigError(f'the tag "{name}" is already used by {taken[0].label} ({taken[0].script}): '
                          "nothing written")
    case.mkdir(parents=True)
    written = [script]
    script.write_text(_template("analyzer.lua").replace(PLACEHOLDER, name), encoding="utf-8")
    for file_name in _CASE_FILES:
        (case / file_name).write_text(_template("case", file_name).replace(PLACEHOLDER, name), encoding="utf-8")
        written.append(case / file_name)
    return written
