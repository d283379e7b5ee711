"""The web-scraping test site for golden runs: static pages served from a container.

It joins the scraper's own network under the DNS name ``sb-testsite`` (the golden URLs), so
golden tasks never reach outside this machine. Removed when the run ends.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.engine.core.errors import EngineError
from app.engine.runtime.protocol import LABEL_INSTANCE, LABEL_ROLE, BuildRequest, LaunchSpec

if TYPE_CHECKING:
    from app.engine.orchestrator import Orchestrator

__all__ = ["TestSite"]

SPECIALIST = "web-scraping"


class TestSite:
    """Build (once, by tag) and run the test site on the scraper's network."""

    __test__ = False  # not a pytest test class

    def __init__(self, orch: Orchestrator) -> None:
        self.orch = orch
        self.name = f"sb-testsite-{secrets.token_hex(4)}"

    def start(self) -> None:
        """Build the image if needed and start the site; raises ``EngineError`` on failure."""
        spec = self.orch.spec(SPECIALIST)
        folder = spec.folder / "testsite"
        if not folder.is_dir():
            raise EngineError(f"{folder} is missing: the golden web-scraping tasks need it")
        tag = "switchboard/testsite:" + _folder_hash(folder, self.orch.settings.base_image)
        if not self.orch.runtime.image_exists(tag):
            self.orch.runtime.build_image(
                BuildRequest(
                    tag=tag,
                    context=folder,
                    build_args={"BASE_IMAGE": self.orch.settings.base_image},
                    labels={"io.switchboard.managed": "true", "io.switchboard.component": "testsite"},
                ),
                on_line=lambda line: None,
            )
        network = self.orch.lifecycle.network_name(SPECIALIST)
        labels = self.orch.lifecycle.base_labels("testsite")
        self.orch.runtime.ensure_network(network, internal=False, labels=self.orch.lifecycle.base_labels(SPECIALIST))
        self.orch.runtime.run(
            LaunchSpec(
                name=self.name,
                image=tag,
                labels={**labels, LABEL_ROLE: "testsite", LABEL_INSTANCE: self.orch.instance_id},
                memory_mb=64,
                cpus=0.5,
                pids=32,
                tmpfs_mb=8,
                network=network,
                aliases=("sb-testsite",),
            )
        )
        time.sleep(0.5)  # the stdlib server binds within a few ms; give it a margin

    def stop(self) -> None:
        """Remove the site container."""
        self.orch.runtime.remove(self.name)


def _folder_hash(root: Path, base_image: str) -> str:
    digest = hashlib.sha256(base_image.encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
