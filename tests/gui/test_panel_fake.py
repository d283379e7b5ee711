"""Control panel behaviour against the in-memory fake orchestrator (no Docker needed)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from app.engine.core.errors import BadInput
from app.engine.core.events import ContainerStatsSampled, HealthChanged, TaskStateChanged
from app.ui.bridge import EngineBridge
from app.ui.ops import pending_ops, run_op
from widgets.settings_dialog import SettingsDialog

pytestmark = pytest.mark.gui


def drop_files(widget, paths: list[Path]) -> bool:
    """Send a real drag-enter + drop with file URLs to ``widget``; True if the drop was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:  # PySide6 >= 6.12 takes a QPointF (the QPoint form is deprecated there)
        enter = QDragEnterEvent(QPointF(20, 20), *args)
    except TypeError:  # earlier releases take a QPoint
        enter = QDragEnterEvent(QPoint(20, 20), *args)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(
        QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def csv_file(tmp_path: Path, name: str = "sales.csv") -> Path:
    path = tmp_path / name
    path.write_text("region,revenue\nnorth,10\nsouth,20\n", encoding="utf-8")
    return path


def last_box(window) -> QMessageBox:
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes, "expected a message box"
    return boxes[-1]


def test_bridge_delivers_engine_events_on_the_gui_thread(qtbot, fake_panel):
    window, controller, orch = fake_panel
    seen: list[tuple[object, bool]] = []
    controller.bridge.sig_health_changed.connect(
        lambda e: seen.append((e, threading.current_thread() is threading.main_thread()))
    )
    worker = threading.Thread(
        target=lambda: orch.bus.publish(HealthChanged(component="docker", status="down", detail="gone", fix="start it"))
    )
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(seen), timeout=3000)
    assert seen[0][1] is True
    assert window.health_lights.status["docker"] == "down"
    assert window.health_lights.fix_button.isVisible()


def test_bridge_unsubscribes_on_close(qtbot):
    from app.engine.core.events import EventBus

    bus = EventBus()
    bridge = EngineBridge(bus)
    got: list[object] = []
    bridge.sig_task_state_changed.connect(got.append)
    bridge.close()
    bus.publish(TaskStateChanged(task_id="x", state="running"))
    QApplication.processEvents()
    assert got == []
    assert bus._subs == []


def test_run_op_delivers_result_and_engine_error_message(qtbot):
    results: list[object] = []
    run_op(lambda: 41 + 1, results.append, results.append)
    run_op(lambda: (_ for _ in ()).throw(BadInput("the file sales.csv is empty")), results.append, results.append)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=3000)
    assert 42 in results
    assert "the file sales.csv is empty" in results
    assert pending_ops() == 0


def test_drop_on_card_submits_task_for_that_specialist_with_those_files(qtbot, fake_panel, tmp_path):
    window, controller, orch = fake_panel
    data = csv_file(tmp_path)
    card = window.cards.cards["data-analytics"]
    assert drop_files(card, [data])
    prompt = controller.tasks.drop_prompt
    assert prompt is not None and prompt.isVisible()
    assert "sales.csv" in prompt.findChildren(type(window.status_message))[0].text()
    prompt.text.setText("average revenue by region")
    prompt.accept()
    qtbot.waitUntil(lambda: any(c[0] == "submit" for c in orch.calls), timeout=3000)
    submit = next(c for c in orch.calls if c[0] == "submit")
    assert submit[1] == ("average revenue by region",)
    assert submit[2]["specialist"] == "data-analytics"
    assert submit[2]["files"] == [data]
    qtbot.waitUntil(lambda: window.result_view.answer_label.text() == "done by data-analytics", timeout=3000)
    row = window.task_list.model.get(window.result_view.task_id)
    assert row is not None and row["state"] == "succeeded" and row["specialist"] == "data-analytics"


def test_routed_submit_from_console_with_route_preview(qtbot, fake_panel):
    window, controller, orch = fake_panel
    window.console.edit.setPlainText("integrate x^2 from 0 to 3")
    qtbot.waitUntil(lambda: "numerical" in window.console.route_label.text(), timeout=3000)
    assert "0.93" in window.console.route_label.text() and "fast router" in window.console.route_label.text()
    window.console.submit()
    qtbot.waitUntil(lambda: window.result_view.answer_label.text() == "done by numerical", timeout=3000)
    submit = next(c for c in orch.calls if c[0] == "submit")
    assert submit[2]["specialist"] is None
    assert window.console.edit.history == ["integrate x^2 from 0 to 3"]


def test_override_and_feedback_and_rerun(qtbot, fake_panel):
    window, controller, orch = fake_panel
    window.console.choose_specialist("data-analytics")
    assert "chosen by you" in window.console.route_label.text()
    window.console.edit.setPlainText("integrate x^2 from 0 to 3")
    window.console.submit()
    qtbot.waitUntil(lambda: window.result_view.answer_label.text() == "done by data-analytics", timeout=3000)
    assert next(c for c in orch.calls if c[0] == "submit")[2]["specialist"] == "data-analytics"
    first = window.result_view.task_id
    window.result_view.correct_button.click()
    qtbot.waitUntil(lambda: ("feedback", (first, "correct")) in [(c[0], c[1]) for c in orch.calls], timeout=3000)
    window.result_view.rerun_on("numerical")
    qtbot.waitUntil(lambda: ("rerun", (first, "numerical")) in [(c[0], c[1]) for c in orch.calls], timeout=3000)
    qtbot.waitUntil(lambda: window.result_view.answer_label.text() == "done by numerical", timeout=3000)


def test_a_model_written_program_can_be_edited_and_run_again(qtbot, fake_panel):
    window, controller, orch = fake_panel
    view = window.result_view
    window.console.choose_specialist("data-analytics")
    window.console.edit.setPlainText("SELECT 1")
    window.console.submit()
    qtbot.waitUntil(lambda: view.answer_label.text() == "done by data-analytics", timeout=3000)
    assert view.operation_edit.isReadOnly() and view.run_program_button.isHidden()  # no program: nothing to edit
    window.console.edit.setPlainText("what did each customer spend, in plain words?")
    window.console.submit()
    qtbot.waitUntil(
        lambda: "in plain words" in view.task_label.text() and view.answer_label.text().startswith("done"), timeout=3000
    )
    qtbot.waitUntil(lambda: not view.run_program_button.isHidden(), timeout=3000)
    assert not view.operation_edit.isReadOnly()
    assert view.operation_edit.toPlainText() == "print('done by data-analytics')\n"
    first = view.task_id
    view.operation_edit.setPlainText("print(42)\n")
    view.run_program_button.click()
    qtbot.waitUntil(lambda: ("run_program", (first, "print(42)\n")) in [(c[0], c[1]) for c in orch.calls], timeout=3000)
    qtbot.waitUntil(lambda: view.task_id != first, timeout=3000)  # the new task is shown


@pytest.mark.parametrize("case", ["folder", "empty", "unsupported", "too_many", "text_only"])
def test_bad_drops_get_a_clear_message_and_run_nothing(qtbot, fake_panel, tmp_path, case):
    window, controller, orch = fake_panel
    target = "data-analytics"
    if case == "folder":
        (tmp_path / "reports").mkdir()
        paths, expect = [tmp_path / "reports"], "is a folder"
    elif case == "empty":
        (tmp_path / "empty.csv").write_bytes(b"")
        paths, expect = [tmp_path / "empty.csv"], "is empty (0 bytes)"
    elif case == "unsupported":
        (tmp_path / "photo.bmp").write_bytes(b"BM....")
        paths, expect = [tmp_path / "photo.bmp"], "does not read .bmp"
    elif case == "too_many":
        paths = [csv_file(tmp_path, f"f{i}.csv") for i in range(20)]
        expect = "20 files dropped at once; a task takes at most 16"
    else:
        target, paths, expect = "web-scraping", [csv_file(tmp_path)], "takes text only"
    drop_files(window.cards.cards[target], paths)
    box = last_box(window)
    assert expect in box.text() and "Nothing was sent" in box.text()
    assert controller.tasks.drop_prompt is None
    assert not [c for c in orch.calls if c[0] == "submit"]
    box.accept()


def test_file_that_disappears_before_the_task_runs(qtbot, fake_panel, tmp_path):
    window, controller, orch = fake_panel
    data = csv_file(tmp_path)
    drop_files(window.cards.cards["data-analytics"], [data])
    prompt = controller.tasks.drop_prompt
    data.unlink()
    prompt.text.setText("sum revenue")
    prompt.accept()
    box = last_box(window)
    assert "sales.csv: the file no longer exists" in box.text()
    assert not [c for c in orch.calls if c[0] == "submit"]
    # the same file attached in the console and deleted before Run
    again = csv_file(tmp_path, "again.csv")
    assert drop_files(window.console, [again])
    assert window.console.files == [again]
    again.unlink()
    window.console.edit.setPlainText("sum revenue")
    window.console.submit()
    assert "again.csv: the file no longer exists" in window.console.message_label.text()
    assert not [c for c in orch.calls if c[0] == "submit"]


def test_lifecycle_buttons_confirm_destructive_actions(qtbot, fake_panel):
    window, controller, orch = fake_panel
    asked: list[str] = []
    controller.fleet.confirm = lambda _p, _t, text, _a, yes: (asked.append(text), yes())
    card = window.cards.cards["numerical"]
    card._start_btn.click()
    qtbot.waitUntil(lambda: card.pill_text() == "running", timeout=3000)
    controller.fleet.scale("numerical", 2)
    qtbot.waitUntil(lambda: card.pill_text() == "running ×2", timeout=3000)
    assert card.figure_text("replicas") == "2 / 3"
    qtbot.waitUntil(lambda: len(window.container_list.names()) == 2, timeout=3000)
    card._stop_btn.click()
    assert asked and "sb-numerical-00000000" in asked[-1] and "sb-numerical-00000001" in asked[-1]
    qtbot.waitUntil(lambda: card.pill_text() == "stopped", timeout=3000)
    assert ("scale", ("numerical", 0)) in [(c[0], c[1]) for c in orch.calls]


def test_settings_dialog_rejects_bad_values_with_the_field_error(qtbot, fake_panel, tmp_path, monkeypatch):
    window, controller, orch = fake_panel
    monkeypatch.setenv("SWITCHBOARD_CONFIG_FILE", str(tmp_path / "config.toml"))
    dialog = controller.settings.open_dialog()
    assert isinstance(dialog, SettingsDialog)
    dialog.editors["workers"].setText("0")
    dialog.accept()
    assert dialog.isVisible()
    assert "workers" in dialog.error.text() and "greater than or equal to 1" in dialog.error.text()
    dialog.editors["workers"].setText("8")
    dialog.editors["ollama_timeout_s"].setText("soon")
    dialog.accept()
    assert dialog.isVisible() and "ollama_timeout_s" in dialog.error.text()
    dialog.editors["ollama_timeout_s"].setText("30")
    dialog.accept()
    assert not dialog.isVisible()
    saved = (tmp_path / "config.toml").read_text()
    assert "workers = 8" in saved and "ollama_timeout_s = 30.0" in saved


def test_charts_receive_samples_and_history(qtbot, fake_panel):
    window, controller, orch = fake_panel
    window.tabs.setCurrentIndex(window.TAB_METRICS)
    for i in range(5):
        orch.bus.publish(
            ContainerStatsSampled(
                container="sb-numerical-aa",
                specialist="numerical",
                cpu_percent=10.0 + i,
                memory_bytes=50_000_000,
                memory_limit_bytes=512_000_000,
                pids=3,
            )
        )
    qtbot.waitUntil(lambda: window.charts.point_count("cpu_percent") >= 5, timeout=3000)
    before = window.charts.redraws
    qtbot.waitUntil(lambda: window.charts.redraws > before, timeout=3000)
    y = window.charts.plots["cpu_percent"].curves["sb-numerical-aa"].yData  # unclipped data
    assert list(y[-5:]) == [10.0, 11.0, 12.0, 13.0, 14.0]
    window.charts.set_range(3600.0)
    qtbot.waitUntil(lambda: any(c[0] == "series" and c[1][0] == "throughput" for c in orch.calls), timeout=3000)
    qtbot.waitUntil(lambda: window.charts.point_count("throughput") > 0, timeout=3000)


def test_history_and_persisted_filters(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from app.ui.main_window import MainWindow

    ini = str(tmp_path / "p.ini")
    first = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.task_list.set_filters({"state": "failed", "search": "revenue"})
    first.tasks_splitter.setSizes([300, 700])
    first.save_state()
    second = MainWindow(QSettings(ini, QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    second.restore_state()
    assert second.task_list.filters() == {"state": "failed", "specialist": "", "search": "revenue"}
    second.charts.stop()
    first.charts.stop()


def test_swarm_nodes_show_in_the_containers_tab_only_on_a_swarm(qtbot, fake_panel):
    from app.engine.core.views import NodeView

    window, controller, orch = fake_panel
    controller.fleet.refresh()
    qtbot.waitUntil(lambda: not controller.fleet._refreshing, timeout=3000)
    assert window.node_list.isHidden()  # the local Docker backend has no nodes
    orch.swarm_nodes = [
        NodeView(
            id="n1",
            name="box-1",
            role="manager",
            state="ready",
            availability="active",
            address="127.0.0.1",
            leader=True,
            cpus=2.0,
            memory_mb=24000,
            reserved_cpus=1.0,
            reserved_memory_mb=768,
            replicas={"numerical": 2, "database": 1},
        ),
        NodeView(
            id="n2",
            name="box-2",
            role="worker",
            state="down",
            availability="drain",
            address="10.0.0.2",
            leader=False,
            cpus=4.0,
            memory_mb=8000,
        ),
    ]
    controller.fleet.refresh()
    qtbot.waitUntil(lambda: not window.node_list.isHidden(), timeout=3000)
    assert window.node_list.rows() == [
        ["box-1", "manager (leader)", "ready", "1 / 2", "768 / 24,000 MiB", "database 1, numerical 2"],
        ["box-2", "worker", "down, drain", "0 / 4", "0 / 8,000 MiB", "–"],
    ]
    orch.swarm_nodes = []  # back on the local backend (or the manager went away): hidden again
    controller.fleet.refresh()
    qtbot.waitUntil(lambda: window.node_list.isHidden(), timeout=3000)
