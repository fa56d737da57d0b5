"""Every golden case of the shipped analyzers (analyzers/tests/<tag>/<case>/), one test
each: the case's input through the engine with every shipped analyzer, its
annotations against expected.json (docs/analyzers.md)."""

from __future__ import annotations

import pytest

from mle.config import Config, load_config
from mle.root import Root
from mle.tooling.golden import check_case, discover
from mle.tooling.report import describe
from tests.conftest import REPO

ROOT = Root.locate(REPO)
CASES = discover(ROOT)


@pytest.fixture(scope="module")
def root_config() -> Config:
    return load_config(ROOT)


def test_the_shipped_analyzers_have_golden_cases():
    assert {case.tag for case in CASES} >= {path.stem for path in (REPO / "analyzers").glob("*.lua")}


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_golden_case(case, root_config):
    outcome = check_case(case, root_config)
    assert outcome.passed, "\n".join(describe(outcome))
