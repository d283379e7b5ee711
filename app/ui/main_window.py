"""The main window: layout, actions, shortcuts and persisted geometry — no engine calls.

``app.ui.controller`` connects these views to the orchestrator. The chart panel (pyqtgraph and
numpy, a third of a second of imports) is created on first use of :attr:`MainWindow.charts`,
which the controller does after the first paint; until then the Metrics tab holds a
placeholder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.build_log import BuildLog
from widgets.card_grid import CardGrid
from widgets.container_detail import ContainerDetail
from widgets.container_list import ContainerList
from widgets.icons import icon
from widgets.improvements_panel import ImprovementsPanel
from widgets.node_list import NodeList
from widgets.result_view import ResultView
from widgets.status_bar import HealthLights
from widgets.task_console import TaskConsole
from widgets.task_list import TaskList

if TYPE_CHECKING:
    from widgets.charts import ChartPanel

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """Specialist cards on the left; tasks, metrics, containers and activity as tabs."""

    sig_closing = Signal()
    """The window is closing: stop timers, threads and engine subscriptions now."""

    TAB_TASKS, TAB_METRICS, TAB_CONTAINERS, TAB_ACTIVITY, TAB_IMPROVEMENTS = range(5)

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.qsettings = settings or QSettings("Switchboard", "Switchboard")
        self.persist_state = True  # False: a screenshot run leaves the user's layout alone
        self.setWindowTitle("Switchboard")
        self.setWindowIcon(icon("logo"))
        self.resize(1440, 900)
        self.setMinimumSize(QSize(960, 600))
        self._build_actions()
        self._build_toolbar()
        self._build_body()
        self._build_status()

    # building ------------------------------------------------------------------------------
    def _action(self, text: str, shortcut: str, tip: str, icon_name: str = "") -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_refresh = self._action("Refresh", "F5", "Reload specialists, containers and tasks", "refresh")
        self.act_settings = self._action("Settings", "Ctrl+,", "Edit engine and GUI settings", "settings")
        self.act_theme = self._action("Theme", "Ctrl+Shift+T", "Switch between dark and light")
        self.act_doctor = self._action("Doctor", "Ctrl+D", "Check Docker, Ollama, the database and images")
        self.act_focus_console = self._action("New task", "Ctrl+L", "Focus the task console")
        self.act_find = self._action("Find", "Ctrl+F", "Search the task list")
        self.act_quit = self._action("Quit", "Ctrl+Q", "Close Switchboard (containers keep running)")
        self.act_quit.triggered.connect(self.close)
        self.tab_actions = []
        for i, name in enumerate(("Tasks", "Metrics", "Containers", "Activity", "Improvements")):
            action = self._action(name, f"Alt+{i + 1}", f"Show the {name} tab")
            action.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
            self.tab_actions.append(action)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        logo = QLabel()
        logo.setPixmap(icon("logo").pixmap(QSize(26, 26)))
        bar.addWidget(logo)
        title = QLabel("Switchboard")
        title.setObjectName("appTitle")
        bar.addWidget(title)
        bar.addAction(self.act_focus_console)
        bar.addAction(self.act_refresh)
        bar.addSeparator()
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy().Preferred
        )
        bar.addWidget(spacer)
        bar.addAction(self.act_doctor)
        bar.addAction(self.act_theme)
        bar.addAction(self.act_settings)

    def _build_body(self) -> None:
        self.cards = CardGrid()
        self.cards.setMinimumWidth(440)
        self.console = TaskConsole()
        self.task_list = TaskList()
        self.result_view = ResultView()
        self._charts: ChartPanel | None = None
        self._dark = False
        self._charts_placeholder = QLabel("Loading charts…")
        self._charts_placeholder.setObjectName("muted")
        self._charts_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.container_list = ContainerList()
        self.container_detail = ContainerDetail()
        self.build_log = BuildLog()
        self.decisions = QListWidget()
        self.improvements = ImprovementsPanel()
        self.decisions.setToolTip("What the engine decided on its own (scaling, reaping, routing, retries) and why")

        tasks_page = QWidget()
        tasks_layout = QVBoxLayout(tasks_page)
        tasks_layout.setContentsMargins(10, 10, 10, 10)
        tasks_layout.setSpacing(10)
        tasks_layout.addWidget(self.console)
        self.tasks_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.tasks_splitter.setObjectName("tasksSplitter")
        self.tasks_splitter.addWidget(self.task_list)
        self.tasks_splitter.addWidget(self.result_view)
        self.tasks_splitter.setStretchFactor(0, 3)  # the list grows with the window
        self.tasks_splitter.setStretchFactor(1, 2)
        self.tasks_splitter.setSizes([660, 380])
        tasks_layout.addWidget(self.tasks_splitter, 1)

        containers_page = QWidget()
        containers_layout = QVBoxLayout(containers_page)
        containers_layout.setContentsMargins(10, 10, 10, 10)
        self.node_list = NodeList()  # the swarm's nodes; hidden on the local Docker backend
        self.node_list.hide()
        containers_layout.addWidget(self.node_list)
        self.containers_splitter = QSplitter(Qt.Orientation.Vertical)
        self.containers_splitter.setObjectName("containersSplitter")
        self.containers_splitter.addWidget(self.container_list)
        self.containers_splitter.addWidget(self.container_detail)
        self.containers_splitter.setSizes([260, 440])
        containers_layout.addWidget(self.containers_splitter)

        self.activity_splitter = QSplitter(Qt.Orientation.Vertical)
        self.activity_splitter.setObjectName("activitySplitter")
        self.activity_splitter.addWidget(self.build_log)
        decisions_host = QWidget()
        decisions_layout = QVBoxLayout(decisions_host)
        decisions_layout.setContentsMargins(10, 0, 10, 10)
        heading = QLabel("Engine decisions")
        heading.setObjectName("sectionTitle")
        decisions_layout.addWidget(heading)
        decisions_layout.addWidget(self.decisions)
        self.activity_splitter.addWidget(decisions_host)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(tasks_page, "Tasks")
        self.tabs.addTab(self._charts_placeholder, "Metrics")
        self.tabs.addTab(containers_page, "Containers")
        self.tabs.addTab(self.activity_splitter, "Activity")
        self.tabs.addTab(self.improvements, "Improvements")

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.cards)
        self.main_splitter.addWidget(self.tabs)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([450, 990])
        self.setCentralWidget(self.main_splitter)
        self.act_focus_console.triggered.connect(self._focus_console)
        self.act_find.triggered.connect(self._focus_search)

    def _build_status(self) -> None:
        self.health_lights = HealthLights()
        self.status_message = QLabel("Connecting to the engine…")
        self.status_counts = QLabel("")
        self.status_counts.setToolTip("Containers running · tasks in flight · tasks today")
        bar = self.statusBar()
        bar.addWidget(self.health_lights)
        bar.addWidget(self.status_message, 1)
        bar.addPermanentWidget(self.status_counts)

    @property
    def charts(self) -> ChartPanel:
        """The chart panel, created (and put in the Metrics tab) on first use."""
        if self._charts is None:
            from widgets.charts import ChartPanel

            current = self.tabs.currentIndex()
            self._charts = ChartPanel()
            self._charts.set_dark(self._dark)
            self.tabs.blockSignals(True)
            self.tabs.removeTab(self.TAB_METRICS)
            self.tabs.insertTab(self.TAB_METRICS, self._charts, "Metrics")
            self.tabs.setCurrentIndex(current)
            self.tabs.blockSignals(False)
            self._charts_placeholder.deleteLater()
        return self._charts

    @property
    def charts_created(self) -> bool:
        """True once :attr:`charts` exists (shutdown paths must not create it)."""
        return self._charts is not None

    def set_dark(self, dark: bool) -> None:
        """Match the charts to the theme now or when they are created."""
        self._dark = dark
        self.improvements.router.set_dark(dark)
        if self._charts is not None:
            self._charts.set_dark(dark)

    # actions -------------------------------------------------------------------------------
    def _focus_console(self) -> None:
        self.tabs.setCurrentIndex(self.TAB_TASKS)
        self.console.edit.setFocus()

    def _focus_search(self) -> None:
        self.tabs.setCurrentIndex(self.TAB_TASKS)
        self.task_list.search.setFocus()
        self.task_list.search.selectAll()

    def show_message(self, text: str, timeout_ms: int = 8000) -> None:
        """Show ``text`` in the status bar until the next message.

        ``timeout_ms`` is accepted for callers' intent only: the latest message stays until
        the next one, so nothing needs a timer.
        """
        del timeout_ms
        self.status_message.setText(text)
        self.status_message.setToolTip(text)

    # persistence ---------------------------------------------------------------------------
    def splitters(self) -> dict[str, QSplitter]:
        """Splitters whose sizes persist."""
        return {
            s.objectName(): s
            for s in (self.main_splitter, self.tasks_splitter, self.containers_splitter, self.activity_splitter)
        }

    def restore_state(self) -> None:
        """Geometry, splitter sizes, tab and task filters from QSettings."""
        s = self.qsettings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        for name, splitter in self.splitters().items():
            state = s.value(f"splitters/{name}")
            if isinstance(state, QByteArray):
                splitter.restoreState(state)
        tab = s.value("window/tab", 0)
        self.tabs.setCurrentIndex(int(tab) if str(tab).isdigit() else 0)
        filters = {k: str(s.value(f"filters/{k}", "") or "") for k in ("state", "specialist", "search")}
        self.task_list.set_filters(filters)

    def save_state(self) -> None:
        """Write geometry, splitters, tab and filters to QSettings."""
        s = self.qsettings
        s.setValue("window/geometry", self.saveGeometry())
        for name, splitter in self.splitters().items():
            s.setValue(f"splitters/{name}", splitter.saveState())
        s.setValue("window/tab", self.tabs.currentIndex())
        for key, value in self.task_list.filters().items():
            s.setValue(f"filters/{key}", value)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.persist_state:
            self.save_state()
        if self._charts is not None:
            self._charts.stop()
        self.sig_closing.emit()
        super().closeEvent(event)
