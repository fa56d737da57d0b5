"""Every golden case of the shipped analyzers (analyzers/tests/<tag>/<case>/), one test
each: the case's input through the engine with every shipped analyzer, its
annotations against expected.json (docs/analyzers.md)."""

from __future__ import annotations

import pytest

from mle.config import load_config
from mle.root import Root
from mle.tooling.golden import check_case, discover
from mle.tooling.report import describe
from tests.conftest import REPO

ROOT_CONFIG = load_config(Root.locate(REPO))
CASES = discover(ROOT_CONFIG.root)


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_golden_case(case):
    outcome = check_case(case, ROOT_CONFIG)
    assert outcome.passed, "\n".join(describe(outcome))
