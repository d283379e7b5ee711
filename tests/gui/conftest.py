"""GUI fixtures: a main window wired to a fake or a real orchestrator, isolated QSettings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, QTimer

from app.ui import ops
from app.ui.controller import Controller
from app.ui.main_window import MainWindow
from tests.gui.fake_orchestrator import FakeOrchestrator


def assert_quiet(window: MainWindow, before: set[int]) -> None:
    """No timer of ours active, no op thread busy, no thread started by the GUI left."""
    active = [t for t in window.findChildren(QTimer) if t.isActive()]
    assert not active, f"timers still running: {[(t.parent(), t.interval()) for t in active]}"
    assert ops.shutdown_ops(5000)
    ops._get_relay().pool.waitForDone(5000)
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("sb-logs")]
    assert not leftover, f"threads left: {leftover}"


def make_panel(qtbot: Any, tmp_path: Path, orch: Any) -> tuple[MainWindow, Controller]:
    """A shown window + controller for ``orch``; QSettings go to a temp INI file."""
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    controller = Controller(orch, window, refresh_ms=500)
    window.show()
    return window, controller


@pytest.fixture
def fake_panel(qtbot: Any, tmp_path: Path) -> Iterator[tuple[MainWindow, Controller, FakeOrchestrator]]:
    """Window wired to the in-memory fake orchestrator, engine already started."""
    before = {t.ident for t in threading.enumerate()}
    orch = FakeOrchestrator()
    window, controller = make_panel(qtbot, tmp_path, orch)
    with qtbot.waitSignal(controller.sig_engine_started, timeout=5000):
        controller.start()
    qtbot.waitUntil(lambda: len(window.cards.cards) == 3, timeout=5000)
    yield window, controller, orch
    window.close()
    assert_quiet(window, before)
    orch.close()
