"""Health of what the engine depends on: Docker, model servers, the database.

Owns the periodic health monitor (``monitor``), the probes and ``doctor`` checks (``probes``)
and the fixes the engine can apply itself, such as starting Docker or Ollama (``fixes``).
"""

__all__: list[str] = []
