"""The script lint behind ``mle check``: warnings, not errors, each with file:line and a
one-line fix (rules in :mod:`mle.tooling.lint.rules`)."""

from __future__ import annotations

from pathlib import Path

from mle.config import Config
from mle.lua.analysis import tokenize
from mle.tooling.lint.rules import leaking_globals, split_read_modify_writes
from mle.tooling.lint.warning import LintWarning

__all__ = ["LintWarning", "lint_config", "lint_report", "lint_source"]


def lint_source(source: str) -> list[LintWarning]:
    """Every warning for one script's source, by line. Source that does not tokenize
    gives none (loading the script reports it)."""
    try:
        tokens = tokenize(source)
    except ValueError:
        return []
    return sorted(leaking_globals(tokens) + split_read_modify_writes(tokens), key=lambda w: w.line)


def _scripts(config: Config) -> list[Path]:
    paths = [spec.script.script for spec in config.inputs if spec.script.script is not None]
    paths += [spec.script for spec in config.analyzers if spec.script is not None]
    paths += [spec.script for spec in config.outputs if spec.script is not None]
    return list(dict.fromkeys(paths))


def lint_config(config: Config) -> list[tuple[Path, LintWarning]]:
    """The warnings of every script the config runs (inputs, analyzers, outputs)."""
    found = []
    for path in _scripts(config):
        try:
            source = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found += [(path, warning) for warning in lint_source(source)]
    return found


def lint_report(config: Config) -> list[str]:
    """The warnings of :func:`lint_config` as lines for a person: file:line, what, the fix."""
    lines = []
    for path, warning in lint_config(config):
        where = path.relative_to(config.root.path) if path.is_relative_to(config.root.path) else path
        lines += [f"warning: {where}:{warning.line}: {warning.message}", f"  fix: {warning.fix}"]
    return lines
