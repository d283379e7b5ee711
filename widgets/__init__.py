"""Reusable Qt views: they take plain data, emit ``sig_*`` requests and never fetch.

This package must not import docker, ollama, sqlalchemy or ``app.engine`` (import-linter
checks it); ``app.ui`` wires these views to the orchestrator.
"""

__all__: list[str] = []
