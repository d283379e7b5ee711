"""``switchboard models``: list, create and delete the Ollama models the engine uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.engine.errors import BadInput

if TYPE_CHECKING:
    from app.engine.orchestrator import Orchestrator

__all__ = ["models_command"]


def models_command(orch: Orchestrator, *, ensure: bool = False, delete: str | None = None) -> dict[str, Any]:
    """Optionally create the base + derived models or delete one; then list them all."""
    service = orch.routing.service
    actions: list[str] = []
    if delete:
        if not delete.startswith("switchboard-") and delete != orch.settings.ollama_model:
            raise BadInput(f"{delete!r} is not a Switchboard model; only switchboard-* and the base model can be deleted here")
        service.delete(delete)
        actions.append(f"deleted {delete}")
    if ensure:
        service.ensure_server()
        if service.ensure_base_model():
            actions.append(f"created base model {orch.settings.ollama_model}")
        for spec in orch.catalogue.specs.values():
            if spec.planner is not None and service.ensure_derived_model(spec):
                actions.append(f"created {spec.model_name}")
    models = []
    for info in service.list_models():
        models.append(
            {"name": info.name, "size_mb": round(info.size / 1e6, 1), "modified": info.modified,
             "loaded": info.loaded, "derived": info.name.startswith("switchboard-")}
        )
    return {"ok": True, "actions": actions, "models": models, "base_model": orch.settings.ollama_model}
