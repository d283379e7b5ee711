"""SwarmRuntime across three Docker engines on this machine (``tests/swarm_cluster.py``).

Slower than the single-node test (about a minute): the module's ``cluster`` fixture starts
three engines in containers on an internal network of their own, makes a swarm of them and
removes everything afterwards. The host engine's own swarm state is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.engine.core.config import load_settings
from app.engine.runtime.swarm_images import distribute_image
from tests.swarm_cluster import SwarmCluster

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def cluster(docker_client: Any) -> Iterator[SwarmCluster]:
    """Three engines in one swarm (node 0 the manager); every trace removed afterwards."""
    with SwarmCluster() as made:
        yield made
    assert not any(made.leftovers().values()), made.leftovers()


def test_an_image_reaches_every_node_without_a_registry(cluster: SwarmCluster, docker_client: Any) -> None:
    base = load_settings().base_image
    image_id = docker_client.images.get(base).id
    targets = {n.container: n.client() for n in cluster.nodes}
    copies = distribute_image(docker_client, base, targets)
    assert [(c.node, c.action) for c in copies] == [(n.container, "loaded") for n in cluster.nodes]
    assert all(c.image_id == image_id and c.bytes > 10 << 20 for c in copies)
    for node in cluster.nodes:  # the same id, and the tag came along
        assert node.client().images.get(base).id == image_id
    again = distribute_image(docker_client, image_id, targets)
    assert [c.action for c in again] == ["present"] * len(cluster.nodes)
