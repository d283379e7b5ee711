"""Hostile pages for the web-scraping container, served by the test site on its own network.

Pages whose ``<base>``, meta refresh, frames, iframes and links point at ``file:``, other
schemes, the Docker socket and API, the model servers, the metadata address (also spelled as
a decimal number or IPv4-mapped IPv6) and the Docker host itself. Listing such links is data;
following one is refused with the URL named; nothing but the test site is ever contacted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.engine.evaluation.testsite import TestSite
from app.engine.orchestrator import Orchestrator
from tests.hostile.conftest import expect_refusal, run_task

pytestmark = [pytest.mark.hostile, pytest.mark.docker]

SITE = "http://sb-testsite/hostile"
NEXT_TARGETS = {
    "file": "file",
    "gopher": "gopher",
    "docker-socket": "http+unix",
    "docker-api": "docker api",
    "model-server": "model server",
    "llama-server": "this machine",
    "metadata": "link-local/metadata",
    "metadata-mapped": "link-local/metadata",
    "metadata-decimal": "link-local/metadata",
    "loopback-decimal": "model server",
    "host-alias": "this machine",
}


@pytest.fixture(scope="module")
def site(engine: Orchestrator) -> Iterator[TestSite]:
    server = TestSite(engine)
    server.start()
    yield server
    server.stop()


def _site_log(docker_client: Any, site: TestSite) -> str:
    return str(docker_client.containers.get(site.name).logs().decode("utf-8", "replace"))


def test_hostile_links_are_listed_as_data_and_never_followed(
    engine: Orchestrator, site: TestSite, docker_client: Any
) -> None:
    outcome = run_task(engine, f"links from {SITE}/links.html", "web-scraping")
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    assert outcome.view.data is not None and outcome.view.data["pages"] == [f"{SITE}/links.html"]
    items = outcome.view.data["items"]
    assert "http://sb-testsite/catalogue/page1.html" in items
    assert not any(i.startswith("file:") and i.endswith("passwd") and "/etc/" not in i for i in items)
    for kind in ("title", "text", "tables"):
        again = run_task(engine, f"{kind} of {SITE}/links.html", "web-scraping")
        assert again.view is not None and again.view.state == "succeeded", again
        assert "root:" not in again.view.answer
    log = _site_log(docker_client, site)
    requested = [line.split('"')[1] for line in log.splitlines() if '"GET ' in line]
    assert all(r.startswith(("GET /robots.txt", "GET /hostile/links.html")) for r in requested), requested


@pytest.mark.parametrize("target", list(NEXT_TARGETS), ids=list(NEXT_TARGETS))
def test_following_a_hostile_next_link_is_refused_naming_it(engine: Orchestrator, site: TestSite, target: str) -> None:
    outcome = run_task(engine, f"title of {SITE}/next-{target}.html follow next up to 3 pages", "web-scraping")
    expect_refusal(outcome, NEXT_TARGETS[target], "refused", kinds=("forbidden",))


def test_the_docker_host_is_refused_at_its_gateway_address(
    engine: Orchestrator, site: TestSite, docker_client: Any
) -> None:
    network = docker_client.networks.get(engine.lifecycle.network_name("web-scraping"))
    gateways = [c["Gateway"] for c in network.attrs["IPAM"]["Config"] if c.get("Gateway")]
    assert gateways, network.attrs["IPAM"]
    for url in (f"http://{gateways[0]}/", f"http://{gateways[0]}:8080/", f"https://{gateways[0]}:6443/"):
        outcome = run_task(engine, f"title of {url}", "web-scraping")
        expect_refusal(outcome, gateways[0], "docker host", kinds=("forbidden",))


def test_a_dropped_hostile_page_is_read_without_fetching_anything(engine: Orchestrator, user_dir: Any) -> None:
    page = user_dir / "page.html"
    page.write_text(
        '<html><head><base href="file:///etc/"><meta http-equiv="refresh" content="0;url=/etc/passwd">'
        '</head><body><iframe src="http://169.254.169.254/"></iframe>'
        '<a rel="next" href="passwd">next</a></body></html>',
        encoding="utf-8",
    )
    outcome = run_task(engine, "links follow next up to 3 pages", "web-scraping", [page])
    assert outcome.view is not None and outcome.view.state == "succeeded", outcome
    assert outcome.view.data is not None and outcome.view.data["pages"] == ["file:page.html"], outcome
