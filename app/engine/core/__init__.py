"""The engine's vocabulary, shared by every layer and importing none of them.

Settings (``config``), the one exception hierarchy (``errors``), events and the bus
(``events``), plain views handed to callers (``views``), specialist manifests (``specs``),
the task/container/health state enums (``states``) and the facade protocol (``facade``).
Nothing here talks to Docker, a model server or the database.
"""

__all__: list[str] = []
