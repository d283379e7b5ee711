"""``switchboard models``: list, create and delete the Ollama models the engine uses."""

from __future__ import annotations

from typing import Any

from app.engine.core.config import Settings
from app.engine.core.errors import BadInput
from app.engine.core.specs import Catalogue
from app.engine.llm.ollama_service import OllamaService

__all__ = ["models_command"]


def models_command(
    service: OllamaService, settings: Settings, catalogue: Catalogue, *, ensure: bool = False, delete: str | None = None
) -> dict[str, Any]:
    """Optionally create the base + derived models or delete one; then list them all."""
    actions: list[str] = []
    if delete:
        if not delete.startswith("switchboard-") and delete != settings.ollama_model:
            raise BadInput(
                f"{delete!r} is not a Switchboard model; only switchboard-* and the base model can be deleted here"
            )
        service.delete(delete)
        actions.append(f"deleted {delete}")
    if ensure:
        service.ensure_server()
        if service.ensure_base_model():
            actions.append(f"created base model {settings.ollama_model}")
        for spec in catalogue.specs.values():
            if spec.planner is not None and service.ensure_derived_model(spec):
                actions.append(f"created {spec.model_name}")
    models = []
    for info in service.list_models():
        models.append(
            {
                "name": info.name,
                "size_mb": round(info.size / 1e6, 1),
                "modified": info.modified,
                "loaded": info.loaded,
                "derived": info.name.startswith("switchboard-"),
            }
        )
    return {"ok": True, "actions": actions, "models": models, "base_model": settings.ollama_model}
