"""SwarmRuntime across three Docker engines on this machine (``tests/swarm_cluster.py``).

Slower than the single-node test (about a minute): the module's ``cluster`` fixture starts
three engines in containers on an internal network of their own, makes a swarm of them and
removes everything afterwards. The host engine's own swarm state is never touched.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import load_settings
from app.engine.core.errors import EngineError
from app.engine.runtime.protocol import LaunchSpec, Mount
from app.engine.runtime.swarm_failover import retry_once_elsewhere
from app.engine.runtime.swarm_images import distribute_image
from app.engine.runtime.swarm_runtime import SwarmRuntime
from tests.swarm_cluster import SwarmCluster, wait_for

pytestmark = pytest.mark.docker

NS_LABEL = "io.switchboard.namespace"


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


def _database_image(docker_client: Any) -> str:
    """The database specialist's image, built on the host engine (the 'engine that built it')."""
    from app.engine.core.specs import load_catalogue
    from app.engine.runtime.docker_runtime import DockerRuntime
    from app.engine.runtime.images import ImageBuilder

    settings = load_settings(ollama_autostart=False, llama_autostart=False)
    spec = load_catalogue(settings.specialists_dir).specs["database"]
    return ImageBuilder(settings, DockerRuntime(settings)).ensure_specialist_image(spec)


def _replica_spec(namespace: str, image: str, exchange: Path) -> LaunchSpec:
    """What the lifecycle launches for a database replica (exchange folders, /data volume)."""
    name = f"sb-database-{secrets.token_hex(4)}"
    return LaunchSpec(
        name=name,
        image=image,
        labels={
            "io.switchboard.managed": "true",
            "io.switchboard.role": "specialist",
            "io.switchboard.specialist": "database",
            NS_LABEL: namespace,
        },
        env={
            "SWITCHBOARD_SPECIALIST": "database",
            "SWITCHBOARD_SOCKET": "/run/switchboard/specialist.sock",
            "SWITCHBOARD_HANDLER": "/opt/specialist/handler.py",
        },
        mounts=(
            Mount(str(exchange / name / "sock"), "/run/switchboard"),
            Mount(str(exchange / name / "in"), "/input", read_only=True),
            Mount(f"switchboard-{namespace}-data-database", "/data", volume=True),
        ),
        memory_mb=128,
        cpus=0.25,
        pids=64,
        tmpfs_mb=16,
        output_tmpfs_mb=8,
    )


def _task(text: str) -> dict[str, Any]:
    task_id = secrets.token_hex(4)
    return {
        "v": 1,
        "kind": "task",
        "id": task_id,
        "text": text,
        "inputs": [],
        "output_dir": f"/output/{task_id}",
        "timeout_s": 30,
        "max_output_bytes": 1 << 20,
    }


def test_replicas_on_three_nodes_answer_through_the_gateway_and_a_lost_node_moves_the_work(
    cluster: SwarmCluster, docker_client: Any
) -> None:
    namespace = "m" + secrets.token_hex(3)
    settings = load_settings(
        data_dir=cluster.shared / "data",
        namespace=namespace,
        docker_url=cluster.manager.url,
        runtime_backend="swarm",
        swarm_multi_node=True,
        swarm_channel_encrypted=False,  # this kernel has no IPsec ESP (CONFIG_INET_ESP): docs/scale-out.md
        swarm_node_engines={n.container: n.url for n in cluster.nodes},
        ollama_autostart=False,
        llama_autostart=False,
    )
    image = _database_image(docker_client)
    # the engine's node holds the image (it would have built it); the runtime copies it on
    manager_only = {cluster.manager.container: cluster.manager.client()}
    distribute_image(docker_client, image, manager_only)
    distribute_image(docker_client, settings.base_image, manager_only)  # the gateway's image
    rt = SwarmRuntime(settings)
    names: list[str] = []
    try:
        assert rt.ping().backend == "swarm"
        for _ in range(3):
            spec = _replica_spec(namespace, image, settings.data_dir / "exchange")
            assert rt.run(spec).status == "running"
            names.append(spec.name)
        multi = rt.multi_node
        assert multi is not None
        for node in cluster.workers:  # copied by the runtime, from the engine's node
            assert node.client().images.get(image).id == docker_client.images.get(image).id
        where = {name: rt.running_tasks(name)[0]["NodeID"] for name in names}
        hosts = {n.node_id: n for n in cluster.nodes}
        assert len(set(where.values())) >= 2, where  # spread: not all on the manager
        on_worker = next(name for name in names if where[name] != cluster.manager.node_id)

        gateway = multi.gateway()
        for name in names:  # every replica, wherever it runs, answers through the gateway
            gateway.wait_ready(name, timeout_s=30)
            answer = gateway.request(name, _task("select 2 + 3 as five"))
            assert answer.get("ok") is True, answer
            assert "5" in json.dumps(answer)
        # the container calls reach a task on a worker through that node's own engine
        assert "READY database" in rt.logs(on_worker)
        assert rt.stats(on_worker).memory_limit_bytes == 128 << 20
        with tarfile.open(fileobj=io.BytesIO(rt.read_dir(on_worker, "/opt/specialist", 4 << 20))) as tar:
            assert any(n.endswith("handler.py") for n in tar.getnames())
        rt.pause(on_worker)
        rt.unpause(on_worker)
        assert gateway.request(on_worker, _task("select 1 as one")).get("ok") is True
        views = {v.name: v for v in rt.nodes(namespace)}
        assert all(v.state == "ready" for v in views.values()), views
        # doctor: every node's engine reachable and holding the images replicas run
        assert multi.image_problems([image], list(views), cluster.manager.container) == []
        assert sum(v.replicas.get("database", 0) for v in views.values()) == 3

        # a worker is lost: its node reads down, its replica dead, the work goes elsewhere once
        lost = hosts[where[on_worker]]
        cluster.stop_node(lost, kill=True)
        wait_for("node down", lambda: {v.name: v.state for v in rt.nodes(namespace)}[lost.container] == "down", 30)
        assert rt.get(on_worker).status == "dead"
        assert any(
            p.startswith(f"{lost.container}: engine unreachable")
            for p in multi.image_problems([image], [n.container for n in cluster.nodes], cluster.manager.container)
        )
        assert rt.replica_lost(on_worker)
        attempts: list[str] = []

        def call(name: str) -> dict[str, Any]:
            attempts.append(name)
            answer = gateway.request(name, _task("select 6 * 7 as answer"))
            if not answer.get("ok"):
                raise EngineError(f"{name}: {answer}")
            return answer

        def replace(name: str) -> str:
            rt.remove(name)
            names.remove(name)
            spec = _replica_spec(namespace, image, settings.data_dir / "exchange")
            rt.run(spec)
            names.append(spec.name)
            gateway.wait_ready(spec.name, timeout_s=30)
            return spec.name

        answer, served_by = retry_once_elsewhere(rt, on_worker, call, replace)
        assert "42" in json.dumps(answer)
        assert attempts == [on_worker, served_by]  # one failed attempt, one retry
        assert rt.running_tasks(served_by)[0]["NodeID"] != lost.node_id
        # a failure on a healthy node is not retried
        healthy = next(n for n in names if n != served_by)
        with pytest.raises(EngineError):
            retry_once_elsewhere(rt, healthy, lambda n: gateway.request("no-such-replica", {}), replace)
    finally:
        for name in names:
            rt.remove(name)
        if rt.multi_node is not None:
            rt.multi_node.remove()
        rt.close()
    manager = cluster.manager.client()
    assert not manager.services.list(filters={"label": f"{NS_LABEL}={namespace}"})
    left = [n.name for n in manager.networks.list(filters={"label": f"{NS_LABEL}={namespace}"})]
    assert not left, left
    for node in cluster.nodes:  # the tasks' /output volumes, on every node still up
        if node is not lost:
            assert not node.client().volumes.list(filters={"label": "io.switchboard.output-of"}), node.container
