"""Engine events -> queued Qt signals.

The engine's :class:`~app.engine.core.events.EventBus` calls subscribers synchronously on whatever
engine thread published the event (dispatcher workers, the stats monitor, the build thread...).
Widgets must only be touched on the GUI thread, so :class:`EngineBridge` re-emits each event as
a Qt signal; because the bridge lives on the GUI thread and the emit happens on an engine
thread, Qt's automatic connection queues the call onto the GUI event loop. Handlers connected
to these signals therefore always run on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.engine.core.events import (
    ContainerStateChanged,
    ContainerStatsSampled,
    Decision,
    EventBus,
    HealthChanged,
    ImageBuildProgress,
    TaskStateChanged,
)

__all__ = ["EngineBridge"]


class EngineBridge(QObject):
    """Subscribes to one :class:`EventBus` and re-emits every event on the GUI thread."""

    sig_task_state_changed = Signal(object)
    """A task changed state; carries the :class:`TaskStateChanged` event."""

    sig_container_state_changed = Signal(object)
    """A container started, stopped, died or was removed; carries :class:`ContainerStateChanged`."""

    sig_stats_sampled = Signal(object)
    """One resource sample of one container; carries :class:`ContainerStatsSampled`."""

    sig_build_progressed = Signal(object)
    """A line of an image build; carries :class:`ImageBuildProgress`."""

    sig_health_changed = Signal(object)
    """Docker, Ollama or the database changed status; carries :class:`HealthChanged`."""

    sig_decision_made = Signal(object)
    """The engine decided something on its own (scale, reap, route); carries :class:`Decision`."""

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        pairs: list[tuple[type, Signal]] = [
            (TaskStateChanged, self.sig_task_state_changed),
            (ContainerStateChanged, self.sig_container_state_changed),
            (ContainerStatsSampled, self.sig_stats_sampled),
            (ImageBuildProgress, self.sig_build_progressed),
            (HealthChanged, self.sig_health_changed),
            (Decision, self.sig_decision_made),
        ]
        self._unsubscribers: list[Callable[[], None]] = [
            bus.subscribe(kind, self._emitter(signal)) for kind, signal in pairs
        ]

    def _emitter(self, signal: Signal) -> Callable[[object], None]:
        # Runs on the engine thread: emitting is thread-safe and queued to our thread.
        def emit(event: object) -> None:
            if self._unsubscribers:
                signal.emit(event)

        return emit

    def close(self) -> None:
        """Stop receiving events (idempotent); pending queued signals are still delivered."""
        unsubs, self._unsubscribers = self._unsubscribers, []
        for unsubscribe in unsubs:
            unsubscribe()
