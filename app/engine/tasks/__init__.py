"""Tasks from request to result: intake checks, the dispatcher's queue and workers, recovery.

Owns a task's life after it is stored: input validation (``intake``), the bounded queue with
per-specialist concurrency, timeouts, retry and cancel (``dispatch``), what input files look
like to a planner (``input_preview``), and reconciling unfinished tasks after a restart
(``recovery``). It uses the fleet for containers, routing/llm for plans and the store for rows.
"""

__all__: list[str] = []
