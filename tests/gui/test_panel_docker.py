"""The control panel on a real orchestrator and a real Docker engine.

Lifecycle buttons start, scale and stop real containers; the charts receive real stats;
a file dropped on a card runs on that specialist in a real container; a routed task from the
console comes back with the real answer. Everything runs in a namespace of its own that the
engine fixtures purge afterwards.
"""

from __future__ import annotations

import threading

import pytest

from app.engine.orchestrator import Orchestrator
from tests.gui.conftest import assert_quiet, make_panel
from tests.gui.test_panel_fake import drop_files
from tests.integration.conftest import docker_client  # noqa: F401 (fixture)
from tests.integration.engine_fixtures import NS_LABEL, engine_settings  # noqa: F401 (fixture)

pytestmark = [pytest.mark.docker, pytest.mark.gui]


@pytest.fixture
def real_panel(qtbot, tmp_path, engine_settings, docker_client):  # noqa: F811
    before = {t.ident for t in threading.enumerate()}
    settings = engine_settings()
    orch = Orchestrator(settings)
    window, controller = make_panel(qtbot, tmp_path, orch)
    with qtbot.waitSignal(controller.sig_engine_started, timeout=120_000):
        controller.start()
    qtbot.waitUntil(lambda: "numerical" in window.cards.cards, timeout=20_000)
    yield window, controller, orch, settings
    window.close()
    assert_quiet(window, before)
    orch.close(remove_containers=True)


def ours(client, settings, specialist: str) -> list:
    return client.containers.list(
        filters={"label": [f"{NS_LABEL}={settings.namespace}", f"io.switchboard.specialist={specialist}"]}
    )


def test_lifecycle_buttons_drive_real_containers_and_charts_get_real_stats(qtbot, real_panel, docker_client):  # noqa: F811
    window, controller, orch, settings = real_panel
    controller.fleet.confirm = lambda _p, _t, _text, _a, yes: yes()
    card = window.cards.cards["numerical"]
    card._start_btn.click()
    qtbot.waitUntil(lambda: card.pill_text() == "running", timeout=300_000)
    assert len(ours(docker_client, settings, "numerical")) == 1

    window.tabs.setCurrentIndex(window.TAB_METRICS)
    qtbot.waitUntil(lambda: window.charts.point_count("memory_bytes") >= 2, timeout=30_000)
    name = ours(docker_client, settings, "numerical")[0].name
    assert name in window.charts.plots["memory_bytes"].curves
    memory = window.charts.plots["memory_bytes"].buffers[name].arrays()[1]
    assert 1 < memory[-1] < 512  # MB: a live Python process under its 512 MB limit

    controller.fleet.scale("numerical", 2)
    qtbot.waitUntil(lambda: card.pill_text() == "running ×2", timeout=120_000)
    assert len(ours(docker_client, settings, "numerical")) == 2
    qtbot.waitUntil(lambda: len(window.container_list.names()) == 2, timeout=10_000)

    card._stop_btn.click()
    qtbot.waitUntil(lambda: card.pill_text() == "stopped", timeout=120_000)
    assert ours(docker_client, settings, "numerical") == []


def test_drop_on_card_and_routed_console_task_run_in_real_containers(qtbot, real_panel, tmp_path):
    window, controller, orch, settings = real_panel
    data = tmp_path / "sales.csv"
    data.write_text("item,price\na,2\nb,4\nc,6\n", encoding="utf-8")
    assert drop_files(window.cards.cards["numerical"], [data])
    prompt = controller.tasks.drop_prompt
    assert prompt is not None
    prompt.text.setText("mean of column price in sales.csv")
    prompt.accept()
    qtbot.waitUntil(
        lambda: (
            window.result_view.task_id != ""
            and (window.task_list.model.get(window.result_view.task_id) or {}).get("state") in ("succeeded", "failed")
        ),
        timeout=300_000,
    )
    qtbot.waitUntil(
        lambda: window.result_view.answer_label.text() not in ("", "…") or window.result_view.error_label.isVisible(),
        timeout=30_000,
    )
    task = orch.task(window.result_view.task_id)
    assert task.specialist == "numerical" and [i["name"] for i in task.inputs] == ["sales.csv"]
    assert task.state == "succeeded", task.error
    assert "4" in window.result_view.answer_label.text()

    window.console.edit.setPlainText("integrate x^2 from 0 to 3")
    qtbot.waitUntil(lambda: "numerical" in window.console.route_label.text(), timeout=60_000)
    window.console.submit()
    qtbot.waitUntil(lambda: window.result_view.answer_label.text().startswith("9"), timeout=120_000)
    routed = orch.task(window.result_view.task_id)
    assert routed.router not in (None, "explicit") and routed.specialist == "numerical"

    window.result_view.correct_button.click()
    qtbot.waitUntil(lambda: "Feedback stored" in window.status_message.text(), timeout=30_000)


def test_cancel_button_stops_a_running_task(qtbot, real_panel):
    window, controller, orch, settings = real_panel
    window.console.edit.setPlainText("```python\nimport time\ntime.sleep(60)\n```")
    # the sandbox specialist, chosen explicitly: the console routes, so submit through the engine
    handle = orch.submit(window.console.edit.toPlainText(), specialist="code-execution")
    qtbot.waitUntil(lambda: orch.task(handle.id).state == "running", timeout=300_000)
    qtbot.waitUntil(lambda: window.task_list.model.get(handle.id) is not None, timeout=30_000)
    window.result_view.set_task(orch.task(handle.id))
    assert not window.result_view.cancel_button.isHidden()  # offered for a running task
    window.result_view.cancel_button.click()
    assert handle.future.result(timeout=60).state == "cancelled"
    qtbot.waitUntil(lambda: (window.task_list.model.get(handle.id) or {}).get("state") == "cancelled", timeout=30_000)
