"""The ``mle test`` and ``mle new`` commands (registered on the ``mle`` group in mle.cli)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from mle.config import Config, load_config
from mle.errors import MLEError
from mle.root import Root
from mle.tooling.golden import check_case, discover, tests_folders, update_case
from mle.tooling.report import describe, summary
from mle.tooling.scaffold import new_analyzer

_STYLES = {"ok": "green", "FAIL": "red", "ERROR": "red", "wrote": "green"}

root_option = click.option("-r", "--root", default=".", show_default=True, type=click.Path(file_okay=False),
                           help="Root directory: config.lua + inputs/ analyzers/ outputs/.")
config_option = click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False),
                             help="Config file (default: ROOT/config.lua, else ROOT/config/config.lua).")


errors = Console(stderr=True, highlight=False)


def _fail(exc: MLEError) -> NoReturn:
    errors.print(f"mle: {exc}", style="red", markup=False)
    sys.exit(exc.exit_code)


def _root_config(root: str, config_file: str | None) -> Config:
    try:
        return load_config(Root.locate(root, config_file))
    except MLEError as exc:
        _fail(exc)


def _print(console: Console, line: str) -> None:
    style = _STYLES.get(line.split(" ", 1)[0]) if not line.startswith(" ") else None
    console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)


@click.command("test")
@click.argument("tags", nargs=-1)
@root_option
@config_option
@click.option("--update", is_flag=True, help="Rewrite expected.json from what the engine produces (review it).")
@click.option("-v", "--verbose", count=True, help="Engine logging while the cases run (-vv for debug).")
def test_command(tags: tuple[str, ...], root: str, config_file: str | None, update: bool, verbose: int) -> None:
    """Run the golden cases of the analyzers TAGS (all cases when none is named).

    A case is a folder analyzers/tests/<tag>/<case>/ holding input.json (EVE lines),
    expected.json (the events annotated by <tag>, each a pattern) and optionally
    config.lua; see docs/analyzers.md. Exit status 1 when a case fails."""
    logging.basicConfig(level=max(logging.WARNING - 10 * verbose, logging.DEBUG), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = Console(highlight=False)
    config = _root_config(root, config_file)
    try:
        cases = discover(config.root, tags)
    except MLEError as exc:
        _fail(exc)
    if not cases:
        where = ", ".join(str(t) for t in tests_folders(config.root)) or f"{config.root.path}/analyzers/tests"
        _fail(MLEError(f"no golden cases in {where} (a case: <tag>/<case>/input.json + expected.json)"))
    outcomes = []
    for case in cases:
        outcome = update_case(case, config) if update else check_case(case, config)
        outcomes.append(outcome)
        if update and outcome.error is None:
            errors = sum(1 for e in outcome.patterns if e["mle"].get("errors"))
            note = f"; {case.tag} failed on {errors} of them (see its errors)" if errors else ""
            _print(console, f"wrote {case.expected} ({len(outcome.patterns)} events{note})")
        else:
            for line in describe(outcome):
                _print(console, line)
    console.print(summary(outcomes), markup=False)
    if not all(o.passed for o in outcomes):
        sys.exit(1)


@click.group("new")
def new_group() -> None:
    """Write a starting point for something new."""


@new_group.command("analyzer")
@click.argument("name")
@root_option
@config_option
def new_analyzer_command(name: str, root: str, config_file: str | None) -> None:
    """Write analyzers/NAME.lua (a commented example) and its golden case
    analyzers/tests/NAME/burst/; never overwrites."""
    console = Console(highlight=False)
    config = _root_config(root, config_file)
    try:
        written = new_analyzer(config, name)
    except MLEError as exc:
        _fail(exc)
    for path in written:
        _print(console, f"wrote {Path(path).relative_to(config.root.path)}")
    console.print(f"next: edit analyzers/{name}.lua and its case, then `mle test {name}` and `mle check`",
                  markup=False)
