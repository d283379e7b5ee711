"""The Orchestrator's normal task path on three Docker engines (``tests/swarm_cluster.py``).

With ``swarm_multi_node`` the facade's tasks reach their replica through the channel gateway
(kept-open connections), their input files are uploaded over that channel and their output
files come back over it (no shared folder on another node, and no worker's engine in
``swarm_node_engines``: the test copies the image to the workers itself), and a task whose
replica's node is lost mid-run is retried once on a replica Swarm places on a ready node.
About a minute; everything is removed afterwards.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.core.config import load_settings
from app.engine.core.errors import EngineError
from app.engine.core.events import Decision
from app.engine.fleet.channel_client import ChannelClient
from app.engine.orchestrator import Orchestrator
from app.engine.runtime.swarm_images import distribute_image
from app.engine.runtime.swarm_runtime import SwarmRuntime
from tests.swarm_cluster import SwarmCluster, wait_for

pytestmark = pytest.mark.docker

NS_LABEL = "io.switchboard.namespace"
ROWS = 9000  # 1 KB each: the database file is larger than the server's 8 MiB request line
SLOW = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 60000000) select count(*) as n from c"


@pytest.fixture(scope="module")
def cluster(docker_client: Any) -> Iterator[SwarmCluster]:
    """Three engines in one swarm (node 0 the manager); every trace removed afterwards."""
    with SwarmCluster() as made:
        yield made
    assert not any(made.leftovers().values()), made.leftovers()


def _images_on_nodes(docker_client: Any, cluster: SwarmCluster) -> None:
    """Base, runtime and database images on the engine's node, the database image on the workers.

    Copied by the test, so the engine needs no worker's own Docker API (``swarm_node_engines``).
    """
    from app.engine.core.specs import load_catalogue
    from app.engine.runtime.docker_runtime import DockerRuntime
    from app.engine.runtime.images import ImageBuilder

    settings = load_settings(ollama_autostart=False, llama_autostart=False)
    builder = ImageBuilder(settings, DockerRuntime(settings))
    image = builder.ensure_specialist_image(load_catalogue(settings.specialists_dir).specs["database"])
    manager = {cluster.manager.container: cluster.manager.client()}
    for ref in (settings.base_image, builder.runtime_tag(), image):
        distribute_image(docker_client, ref, manager)
    distribute_image(docker_client, image, {n.container: n.client() for n in cluster.workers})


def _database(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (id integer primary key, body text)")
        conn.executemany("insert into t (body) values (?)", [(f"{i:08d}" + "x" * 1016,) for i in range(ROWS)])
    conn.close()
    assert path.stat().st_size > 8 << 20
    return path


def _cells(view: Any) -> list[Any]:
    """The first row of the task's first table (the query's answer)."""
    table = view.tables[0]
    return list(table["rows"][0])


def test_tasks_with_inputs_run_on_a_worker_through_the_gateway_and_a_lost_node_is_retried_once(
    cluster: SwarmCluster, docker_client: Any, tmp_path: Path
) -> None:
    namespace = "o" + secrets.token_hex(3)
    settings = load_settings(
        data_dir=cluster.shared / "data",
        namespace=namespace,
        docker_url=cluster.manager.url,
        runtime_backend="swarm",
        swarm_multi_node=True,
        swarm_channel_encrypted=False,  # no IPsec ESP in this kernel: docs/scale-out.md
        swarm_node_engines={},  # no worker's engine: outputs must come over the channel
        ollama_autostart=False,
        llama_autostart=False,
    )
    _images_on_nodes(docker_client, cluster)
    db = _database(tmp_path / "big.db")
    hosts = {n.node_id: n for n in cluster.nodes}
    orch = Orchestrator(settings)
    decisions: list[Decision] = []
    orch.bus.subscribe(Decision, decisions.append)
    rt = orch.runtime
    assert isinstance(rt, SwarmRuntime)
    lost = None
    try:
        orch.start(monitors=False).result(timeout=300)
        # the first replica anywhere; on the manager it is replaced until one runs on a worker
        for _ in range(4):
            view = orch.submit(
                "select count(*) as n, sum(length(body)) as size from t", specialist="database", files=[db]
            )
            done = view.future.result(timeout=180)
            assert done.state == "succeeded", done.error
            assert _cells(done) == [ROWS, ROWS * 1024], done.tables
            name = orch.task(done.id).container
            assert name
            node = rt.running_tasks(name)[0]["NodeID"]
            if node != cluster.manager.node_id:
                break
            orch.lifecycle.remove(name, reason="test: wanted on a worker")
        assert node != cluster.manager.node_id, "no replica was placed on a worker in four starts"
        (replica,) = orch.lifecycle.replicas("database")
        assert isinstance(replica.client, ChannelClient)  # through the gateway, not an exchange socket
        assert not (settings.data_dir / "exchange" / name / "in" / done.id).exists()  # uploaded, not linked

        # a task there that writes a file (a write runs on a copy of the dropped database, the
        # copy its output, larger than a request line): the file comes back over the channel,
        # since this engine cannot reach the worker's own (the old path, read_dir, refuses)
        wrote = orch.submit(
            "create table firsts as select id, substr(body, 1, 8) as code from t where id <= 3",
            specialist="database",
            files=[db],
        ).future.result(timeout=120)
        assert wrote.state == "succeeded", wrote.error
        assert orch.task(wrote.id).container == name  # the same replica, on the worker
        (copy,) = wrote.artifacts
        assert copy.name == "big.db" and copy.bytes > 8 << 20, wrote.artifacts
        with sqlite3.connect(f"file:{copy.path}?mode=ro", uri=True) as conn:
            assert conn.execute("select code from firsts order by id").fetchall() == [
                ("00000000",),
                ("00000001",),
                ("00000002",),
            ]
        conn.close()
        with pytest.raises(EngineError, match="cannot reach"):
            rt.read_dir(name, "/output", max_bytes=1 << 20)

        # the worker is lost while the next task runs there: the task is retried once elsewhere
        slow = orch.submit(SLOW, specialist="database", files=[db], timeout_s=150)
        wait_for("slow task running", lambda: orch.task(slow.id).state == "running", 60, poll_s=0.1)
        time.sleep(1.0)
        assert orch.task(slow.id).state == "running", orch.task(slow.id)
        lost = hosts[node]
        cluster.stop_node(lost, kill=True)
        finished = slow.future.result(timeout=300)
        assert finished.state == "succeeded", finished.error
        assert _cells(finished) == [60000000], finished.tables
        row = orch.task(slow.id)
        assert row.attempt == 2 and row.container and row.container != name, row
        assert rt.running_tasks(row.container)[0]["NodeID"] != lost.node_id
        retries = [d for d in decisions if d.kind == "retry" and d.subject == slow.id]
        # one retry; its reason is "node lost" when the connection went silent, or the closed
        # connection when the node's end reset it first (on one machine the overlay often does)
        assert len(retries) == 1, retries
        assert "node lost" in retries[0].reason or "closed the connection" in retries[0].reason, retries
        assert orch.lifecycle.quarantine_reason("database") is None
        states = {v.name: v.state for v in orch.nodes()}
        assert states[lost.container] == "down", states
    finally:
        orch.close(remove_containers=True)
        multi = SwarmRuntime(settings).multi_node
        if multi is not None:
            try:
                multi.remove(timeout_s=20)
            except Exception:  # a task on the lost node may hold the overlay: the cluster goes anyway
                pass
    manager = cluster.manager.client()
    assert not manager.services.list(filters={"label": f"{NS_LABEL}={namespace}"})
