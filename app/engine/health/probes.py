"""Probes of Docker, Ollama and the database for ``doctor`` and the status bar."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from app.engine.core.config import Settings
from app.engine.core.errors import EngineError
from app.engine.core.specs import Catalogue
from app.engine.core.views import DoctorCheck, HealthView
from app.engine.health.monitor import Probe
from app.engine.runtime.images import ImageBuilder
from app.engine.runtime.protocol import ContainerRuntime
from app.engine.runtime.swarm_runtime import SwarmRuntime
from app.engine.store import Store

__all__ = ["ProbeParts", "Probes"]

DOCKER_FIX = "install and start the engine: `make setup` (or `sudo apt-get install docker.io && sudo dockerd &`)"
BASE_FIX = "build it offline: `packaging/setup/base_image.sh` (part of `make setup`)"
OLLAMA_FIX = "install and start it: `packaging/setup/ollama.sh install start model` (part of `make setup`)"


@dataclass(frozen=True)
class ProbeParts:
    """What the probes look at; ``store`` and ``wait_started`` exist only after start."""

    settings: Settings
    runtime: ContainerRuntime
    images: ImageBuilder
    catalogue: Catalogue
    model_health: Callable[[], HealthView]
    model_doctor: Callable[[], list[DoctorCheck]]
    store: Callable[[], Store | None]
    wait_started: Callable[[float], object]
    coder_health: Callable[[], HealthView] | None = None  # the program-writing model server


class Probes:
    """Each probe is quick (bounded by the clients' timeouts) and never raises."""

    def __init__(self, parts: ProbeParts) -> None:
        self.parts = parts

    def all(self) -> dict[str, Probe]:
        """Probes for the health monitor, by component."""
        probes: dict[str, Probe] = {"docker": self.docker, "ollama": self.ollama, "database": self.database}
        if self.parts.coder_health is not None:
            probes["llama.cpp"] = self.parts.coder_health
        return probes

    def docker(self) -> HealthView:
        """Whether the Docker engine answers."""
        try:
            info = self.parts.runtime.ping()
        except EngineError as exc:
            fix = DOCKER_FIX if shutil.which("dockerd") is None else "start the engine: `packaging/setup/dockerd.sh`"
            return HealthView("docker", "down", str(exc.message), fix)
        return HealthView("docker", "ok", f"{info.backend} {info.version} (API {info.api_version})")

    def ollama(self) -> HealthView:
        """Whether the Ollama server answers and has the base model."""
        return self.parts.model_health()

    def database(self) -> HealthView:
        """Whether the database is open and answering."""
        store = self.parts.store()
        if store is None:
            return HealthView("database", "unknown", "opening…")
        try:
            store.ping().result(timeout=10)
        except Exception as exc:
            return HealthView("database", "down", str(exc), "check database_url (`switchboard config`)")
        if store.notice:  # a damaged database was kept aside at start: say so until the next start
            return HealthView(
                "database", "degraded", store.notice, "restore the kept file while the app is closed, or carry on"
            )
        return HealthView("database", "ok", store.where)

    @staticmethod
    def _swarm(runtime: SwarmRuntime) -> DoctorCheck:
        """The swarm backend: this engine is a manager and every node is ready and active."""
        fix = "`docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377` (docs/scale-out.md)"
        try:
            nodes = runtime.nodes()
        except EngineError as exc:
            return DoctorCheck("swarm", False, f"not a reachable swarm manager: {exc.message.splitlines()[0]}", fix)
        bad = [
            f"{n.name} {n.state}/{n.availability}" for n in nodes if n.state != "ready" or n.availability != "active"
        ]
        detail = f"{len(nodes)} node(s), {len(nodes) - len(bad)} ready" + (
            f"; not ready: {', '.join(bad)}" if bad else ""
        )
        return DoctorCheck("swarm", bool(nodes) and not bad, detail, "" if not bad else "`docker node ls` shows why")

    @staticmethod
    def _swarm_images(runtime: SwarmRuntime, refs: list[str]) -> DoctorCheck | None:
        """Multi-node swarm: every node's own engine is reachable and holds the images built here."""
        multi = runtime.multi_node
        if multi is None:
            return None
        try:
            nodes = runtime.nodes()
            own = next((n.name for n in nodes if n.id == runtime.node_id()), "")
            problems = multi.image_problems(refs, [n.name for n in nodes], own)
        except EngineError as exc:
            return DoctorCheck("swarm images", False, exc.message.splitlines()[0], "check swarm_node_engines")
        detail = f"{len(refs)} image(s) on {len(nodes)} node(s)" if not problems else "; ".join(problems)
        fix = "" if not problems else "set swarm_node_engines; images are copied at the next start of a replica"
        return DoctorCheck("swarm images", not problems, detail, fix)

    def doctor(self) -> list[DoctorCheck]:
        """Every check with a fix for what fails."""
        checks: list[DoctorCheck] = []
        docker = self.docker()
        checks.append(DoctorCheck("docker", docker.status == "ok", docker.detail, docker.fix))
        if docker.status == "ok":
            base = self.parts.settings.base_image
            present = self.parts.runtime.image_exists(base)
            checks.append(
                DoctorCheck(
                    "base image", present, f"{base} {'present' if present else 'missing'}", "" if present else BASE_FIX
                )
            )
            built = []
            built_tags: list[str] = []  # what replicas run on any node (the base image: the manager's gateway only)
            for spec in self.parts.catalogue.specs.values():
                try:
                    tag, ok = self.parts.images.image_state(spec)
                except EngineError:
                    ok = False
                if ok:
                    built.append(spec.id)
                    built_tags.append(tag)
            n = len(self.parts.catalogue.specs)
            checks.append(
                DoctorCheck(
                    "specialist images",
                    True,
                    f"{len(built)}/{n} built ({', '.join(built) or 'none yet'})",
                    "" if len(built) == n else "build on first use, or `switchboard up ID`",
                )
            )
            if isinstance(self.parts.runtime, SwarmRuntime):
                checks.append(self._swarm(self.parts.runtime))
                images = self._swarm_images(self.parts.runtime, built_tags)
                if images is not None:
                    checks.append(images)
        else:
            checks.append(DoctorCheck("base image", False, "cannot check: Docker is down", docker.fix))
        checks.extend(self.parts.model_doctor())
        try:
            self.parts.wait_started(30.0)
            db = self.database()
            checks.append(DoctorCheck("database", db.status == "ok", db.detail, db.fix))
        except EngineError as exc:
            checks.append(DoctorCheck("database", False, str(exc), "check database_url (`switchboard config`)"))
        errors = [str(e) for e in self.parts.catalogue.errors]
        checks.append(
            DoctorCheck(
                "specialist manifests",
                not errors,
                f"{len(self.parts.catalogue.specs)} loaded"
                + (f"; {len(errors)} broken: " + "; ".join(errors) if errors else ""),
                "fix the named field in the named file" if errors else "",
            )
        )
        return checks
