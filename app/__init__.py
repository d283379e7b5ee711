"""Switchboard: a desktop control panel for a fleet of AI specialist containers."""

__all__: list[str] = []
__version__ = "0.1.0"
