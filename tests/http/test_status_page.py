"""The status page in a real headless browser: it loads, fetches /status by itself,
and shows a finding the test injects through the real engine, with its reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.http.browser import Browser, Page, find_chromium
from tests.http.helpers import Api
from tests.http.test_engine_api import CONFIG, FORWARD, send
from tests.waiting import wait_for

REASON = "beacon every 60 s to <b>203.0.113.9</b>"  # markup in a reason must show as text
SPOTTER = """
function loop(msg)
  if msg.beacon then mle.finding(msg, 0.8, "beacon every 60 s to <b>" .. msg.dest_ip .. "</b>") end
  dragonfly.output_event(default_output, msg)
end
"""

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on PATH (apt-get install chromium); no PyPI package ships one that "
                             "loads pages, see tests/http/browser.py")


@pytest.fixture
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    started = Browser(CHROMIUM)
    yield started
    started.close()


def text_of(page: Page, element: str) -> str:
    return page.evaluate(f"document.getElementById({element!r})?.innerText") or ""  # "" until it loaded


def test_the_status_page_shows_a_finding_injected_after_it_loaded(make_root, tmp_path, serving, browser):
    eve = tmp_path / "eve.json"
    eve.touch()
    root = make_root(CONFIG.format(eve=eve), inputs={"f.lua": FORWARD}, analyzers={"learner.lua": SPOTTER})
    serving(root, "--workers", "2")
    api = Api.of(root / "var/run")
    wait_for(lambda: api.get("/health")[0] == 200, what="the engine ready")
    page = browser.open(api.url + "/")
    wait_for(lambda: "learner" in text_of(page, "analyzers"), what="the page's first refresh", timeout=30)
    assert "no findings yet" in text_of(page, "findings")
    assert "running" in text_of(page, "analyzers")

    send(eve, {"flow_id": 77, "src_ip": "10.1.1.1", "src_port": 51000, "dest_ip": "203.0.113.9", "dest_port": 443,
               "event_type": "tls", "beacon": True}, {"flow_id": 78, "event_type": "dns"})
    findings = wait_for(lambda: REASON in text_of(page, "findings") and text_of(page, "findings"),
                        what="the injected finding on the page", timeout=30)
    assert "0.80" in findings and "77" in findings and "10.1.1.1:51000 → 203.0.113.9:443" in findings
    assert page.evaluate("document.querySelectorAll('#findings b').length") == 0  # shown as text, not markup
    numbers = text_of(page, "numbers")
    assert "events/s" in numbers and "findings" in numbers
    assert page.evaluate("getComputedStyle(document.getElementById('error')).display") == "none"
