"""Web-scraping specialist against the static test site on an internal Docker network.

The test site container is named ``sb-testsite`` and shares an ``internal=True`` network with
the hardened scraper, so the golden URLs ``http://sb-testsite/...`` resolve and nothing outside
that network is reachable. Every container, the network and the volume are removed afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.engine.evaluation.golden_checks import GoldenCase, check
from tests.integration.test_specialists_data import (
    BASE_IMAGE,
    LABELS,
    SPECIALISTS,
    SpecialistContainer,
    build_image,
    build_specialist,
    docker_client,  # noqa: F401 - shared session fixture
    golden_cases,
    run_golden,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def scraper(docker_client: Any) -> Iterator[SpecialistContainer]:  # noqa: F811
    """The test site and a scraper on a fresh internal network."""
    site_image, _ = build_image(docker_client, SPECIALISTS / "web-scraping" / "testsite",
                                "switchboard/testsite", {"BASE_IMAGE": BASE_IMAGE},
                                {"io.switchboard.managed": "true"})
    image, _ = build_specialist(docker_client, "web-scraping")
    network = docker_client.networks.create(f"sb-test-net-{uuid.uuid4().hex[:8]}",
                                            driver="bridge", internal=True, labels=LABELS)
    site = box = None
    try:
        site = docker_client.containers.run(
            site_image, detach=True, name="sb-testsite", network=network.name,
            user="10001:10001", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"], mem_limit="64m", pids_limit=32, init=True,
            labels={**LABELS, "io.switchboard.component": "testsite"})
        deadline = time.monotonic() + 30
        while b"READY" not in site.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b"READY" in site.logs(), site.logs().decode(errors="replace")
        box = SpecialistContainer(docker_client, "web-scraping", image, network=network.name)
        yield box
    finally:
        if box is not None:
            box.close()
        if site is not None:
            site.remove(force=True)
        network.remove()


@pytest.mark.parametrize("case", golden_cases("web-scraping"), ids=lambda c: c.id)
def test_scraper_golden(scraper: SpecialistContainer, case: GoldenCase) -> None:
    """Every golden case passes against the test site (planned ones with their plan)."""
    outcome = check(case, run_golden(scraper, "web-scraping", case))
    assert outcome.passed, f"{case.id}: {outcome.detail}"


def test_scraper_obeys_robots_but_site_serves_it(scraper: SpecialistContainer) -> None:
    """The private page exists (linked from the index) yet robots.txt keeps the scraper out."""
    links = scraper.task("links from http://sb-testsite/")
    assert "http://sb-testsite/private/secret.html" in links["data"]["items"]
    response = scraper.task("title of http://sb-testsite/private/secret.html")
    assert response["error"]["kind"] == "forbidden"
    assert "robots.txt" in response["error"]["message"]


def test_scraper_reaches_nothing_else(scraper: SpecialistContainer) -> None:
    """Outside hosts do not resolve and outside addresses are unreachable on the network."""
    response = scraper.task("title of http://example.com/", timeout_s=20)
    assert response["error"]["kind"] == "bad_input"
    assert "Cannot resolve host 'example.com'" in response["error"]["message"]
    # TEST-NET-1 (RFC 5737) is never routed; on an internal network the connect fails at once.
    response = scraper.task("title of http://192.0.2.1/", timeout_s=20)
    assert not response["ok"] and response["error"]["kind"] in ("bad_input", "timeout")
    response = scraper.task("title of http+unix://%2Fvar%2Frun%2Fdocker.sock/info")
    assert response["error"]["kind"] == "forbidden"


def test_scraper_natural_language_needs_plan(scraper: SpecialistContainer) -> None:
    """Free text asks for a plan; a bad plan is ``bad_plan``."""
    response = scraper.task("could you look at http://sb-testsite/ and tell me what it sells?")
    assert response["error"]["kind"] == "needs_plan"
    response = scraper.task("x", plan={"url": "http://sb-testsite/", "extract": "select"})
    assert response["error"]["kind"] == "bad_plan"


def test_scraper_idle_ping(scraper: SpecialistContainer) -> None:
    """The scraper idles small: httpx and selectolax load only on first use."""
    fresh = scraper.request({"v": 1, "kind": "ping"})
    assert fresh["specialist"] == "web-scraping" and 0 < scraper.ping_response["rss_kb"] < 60_000
