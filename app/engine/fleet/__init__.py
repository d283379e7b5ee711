"""The running fleet: which containers exist, how to start, reuse, scale and reap them.

Owns the replica table and its lifecycle (``lifecycle``), the one-primary-engine lock per data
folder (``instance_lock``), and the engine-to-container channel: the per-container exchange
folders (``exchange``), the Unix-socket client (``transport``), the versioned wire messages
(``wire``) and copying task outputs out (``outputs``). Containers themselves come from
``runtime``.
"""

__all__: list[str] = []
