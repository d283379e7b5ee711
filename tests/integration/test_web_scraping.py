"""Web-scraping specialist against the static test site on an internal Docker network.

The scraper is started by the engine's lifecycle (``tests/integration/specialist_fixtures.py``)
on its own network, created ``internal=True`` here before the engine would create it, so
nothing outside that network is reachable. The test site is the golden runner's own
(:class:`~app.engine.evaluation.testsite.TestSite`), on the same network under the DNS name
``sb-testsite``, so the golden URLs ``http://sb-testsite/...`` resolve. Every container, the
network and the volume carry the session's namespace label and are removed afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from app.engine.evaluation.golden_checks import GoldenCase, check
from app.engine.evaluation.testsite import TestSite
from tests.integration.specialist_fixtures import Box, Fleet, golden_cases, run_golden

pytestmark = pytest.mark.docker

SCRAPER = "web-scraping"


@pytest.fixture(scope="module")
def scraper(fleet: Fleet) -> Iterator[Box]:
    """The test site and a scraper on the specialist's internal network."""
    lifecycle = fleet.lifecycle
    fleet.runtime.ensure_network(lifecycle.network_name(SCRAPER), internal=True, labels=lifecycle.base_labels(SCRAPER))
    site = TestSite(cast(Any, fleet))  # reads only spec, settings, runtime, lifecycle, instance_id
    box = None
    try:
        site.start()
        deadline = time.monotonic() + 30
        while "READY" not in fleet.runtime.logs(site.name) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "READY" in fleet.runtime.logs(site.name), fleet.runtime.logs(site.name)
        box = fleet.start(SCRAPER)
        yield box
    finally:
        if box is not None:
            box.close()
        site.stop()


@pytest.mark.parametrize("case", golden_cases("web-scraping"), ids=lambda c: c.id)
def test_scraper_golden(scraper: Box, case: GoldenCase) -> None:
    """Every golden case passes against the test site (planned ones with their plan)."""
    outcome = check(case, run_golden(scraper, case))
    assert outcome.passed, f"{case.id}: {outcome.detail}"


def test_scraper_obeys_robots_but_site_serves_it(scraper: Box) -> None:
    """The private page exists (linked from the index) yet robots.txt keeps the scraper out."""
    links = scraper.task("links from http://sb-testsite/")
    assert "http://sb-testsite/private/secret.html" in links["data"]["items"]
    response = scraper.task("title of http://sb-testsite/private/secret.html")
    assert response["error"]["kind"] == "forbidden"
    assert "robots.txt" in response["error"]["message"]


def test_scraper_reaches_nothing_else(scraper: Box) -> None:
    """Outside hosts do not resolve and outside addresses are unreachable on the network."""
    response = scraper.task("title of http://example.com/", timeout_s=20)
    assert response["error"]["kind"] == "bad_input"
    assert "Cannot resolve host 'example.com'" in response["error"]["message"]
    # TEST-NET-1 (RFC 5737) is never routed; on an internal network the connect fails at once.
    response = scraper.task("title of http://192.0.2.1/", timeout_s=20)
    assert not response["ok"] and response["error"]["kind"] in ("bad_input", "timeout")
    response = scraper.task("title of http+unix://%2Fvar%2Frun%2Fdocker.sock/info")
    assert response["error"]["kind"] == "forbidden"


def test_scraper_natural_language_needs_plan(scraper: Box) -> None:
    """Free text asks for a plan; a bad plan is ``bad_plan``."""
    response = scraper.task("could you look at http://sb-testsite/ and tell me what it sells?")
    assert response["error"]["kind"] == "needs_plan"
    response = scraper.task("x", plan={"url": "http://sb-testsite/", "extract": "select"})
    assert response["error"]["kind"] == "bad_plan"


def test_scraper_idle_ping(scraper: Box) -> None:
    """The scraper idles small: httpx and selectolax load only on first use."""
    fresh = scraper.request({"v": 1, "kind": "ping"})
    assert fresh["specialist"] == "web-scraping" and 0 < scraper.ping_response["rss_kb"] < 60_000
