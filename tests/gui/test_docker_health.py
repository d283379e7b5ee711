"""Docker going away while the panel runs turns its light red (with the fix) and back green.

The engine talks to the shared daemon through a :class:`DockerProxy` the test can cut, so
"Docker going away" is real for this engine (connections reset, connects refused) while the
daemon itself keeps serving everyone else. The app is never restarted in between.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest

from app.engine.orchestrator import Orchestrator
from tests.gui.conftest import assert_quiet, make_panel
from tests.gui.docker_proxy import DockerProxy
from tests.integration.conftest import docker_client  # noqa: F401 (fixture)
from tests.integration.engine_fixtures import engine_settings  # noqa: F401 (fixture)

pytestmark = [pytest.mark.docker, pytest.mark.gui]

# The health monitor probes every 3 s; a probe of a dead socket fails at once.
LIGHT_TIMEOUT_MS = 30_000


@pytest.fixture
def proxy(docker_client):  # noqa: F811 (fixture: skips or fails when no daemon answers)
    # A short directory: Unix socket paths must stay under 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="sb-proxy-"))
    proxy = DockerProxy(folder / "docker.sock")
    proxy.start()
    yield proxy
    proxy.stop()
    folder.rmdir()


def light(window, component: str = "docker") -> tuple[str, str]:
    """(status, tooltip) of one health light."""
    lights = window.health_lights
    return lights.status.get(component, ""), lights.labels[component].toolTip()


def test_docker_going_away_turns_the_light_red_and_back_green(qtbot, tmp_path, proxy, engine_settings):  # noqa: F811
    before = {t.ident for t in threading.enumerate()}
    settings = engine_settings(docker_url=proxy.url)
    orch = Orchestrator(settings)
    window, controller = make_panel(qtbot, tmp_path, orch)
    try:
        with qtbot.waitSignal(controller.sig_engine_started, timeout=120_000):
            controller.start()
        qtbot.waitUntil(lambda: light(window)[0] == "ok", timeout=LIGHT_TIMEOUT_MS)
        assert proxy.connections > 0, "the engine did not go through the proxy"
        assert not window.health_lights.fix_button.isVisible() or "docker" not in window.health_lights.fixes

        proxy.stop()
        qtbot.waitUntil(lambda: light(window)[0] == "down", timeout=LIGHT_TIMEOUT_MS)
        status, tip = light(window)
        assert "Fix:" in tip, tip  # the engine's fix is offered ...
        assert "docker" in window.health_lights.fixes
        assert window.health_lights.fix_button.isVisible()  # ... and a button to see it
        assert "Docker" in window.health_lights.fix_button.text()

        proxy.start()
        qtbot.waitUntil(lambda: light(window)[0] == "ok", timeout=LIGHT_TIMEOUT_MS)
        assert "docker" not in window.health_lights.fixes
        assert "API" in light(window)[1]  # the detail names the engine again
        assert controller.started and not controller.closed  # same app, never restarted
    finally:
        window.close()
        assert_quiet(window, before)
        orch.close(remove_containers=True)
