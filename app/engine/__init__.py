"""Qt-free orchestrator engine. Import :class:`app.engine.orchestrator.Orchestrator` to use it."""

__all__: list[str] = []
