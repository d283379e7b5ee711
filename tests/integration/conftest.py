"""Shared fixtures for tests against a real Docker engine.

``docker_client`` fails under ``CI=true`` when no engine answers and skips elsewhere;
``cleanup_labels`` removes every container, network and volume labelled
``io.switchboard.role=test`` when the test ends, whatever happened in it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_service

TEST_LABELS = {"io.switchboard.managed": "true", "io.switchboard.role": "test"}
_ROLE_FILTER = {"label": "io.switchboard.role=test"}


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A docker SDK client whose engine answered a ping."""
    import docker

    problem: str | None = None
    client: Any = None
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # any failure means: no usable engine
        problem = f"{type(exc).__name__}: {exc}"
    require_service("Docker", problem)
    yield client
    client.close()


def remove_labelled(client: Any, filters: dict[str, Any]) -> None:
    """Force-remove every container, then network and volume, matching ``filters``."""
    for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
        try:
            container.remove(force=True, v=True)
        except Exception:  # already gone
            pass
    for network in client.networks.list(filters=filters):
        try:
            network.remove()
        except Exception:
            pass
    for volume in client.volumes.list(filters=filters):
        try:
            volume.remove(force=True)
        except Exception:
            pass


def remove_test_objects(client: Any, owner: str | None = None) -> None:
    """Remove what tests labelled role=test made (only ``owner``'s objects when given).

    With ``owner`` only objects carrying ``io.switchboard.test-owner=<owner>`` are removed,
    so tests running at the same time never remove each other's containers.
    """
    if owner is None:
        remove_labelled(client, dict(_ROLE_FILTER))
    else:
        remove_labelled(client, {"label": ["io.switchboard.role=test", f"io.switchboard.test-owner={owner}"]})


@pytest.fixture
def cleanup_labels(docker_client: Any) -> Iterator[dict[str, str]]:
    """Labels to put on test objects; everything carrying them is removed afterwards."""
    owner = uuid.uuid4().hex[:12]
    yield {**TEST_LABELS, "io.switchboard.test-owner": owner}
    remove_test_objects(docker_client, owner)


# engine fixtures (a real orchestrator in its own namespace) for every integration test
from tests.integration.engine_fixtures import engine_settings, orch  # noqa: E402, F401

# the engine's image builder, launcher and socket channel without the facade (specialist tests)
from tests.integration.specialist_fixtures import fleet  # noqa: E402, F401
