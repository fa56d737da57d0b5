"""What a lint rule reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LintWarning:
    """One finding of the lint: where, what, and the one-line fix."""

    line: int
    rule: str  # "leaking-global", "split-read-modify-write"
    message: str
    fix: str
