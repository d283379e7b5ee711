"""Saved models under ``/data/models``: ``<name>.joblib`` plus ``<name>.json`` metadata.

Only files this specialist wrote are ever loaded (joblib is pickle: loading a foreign file
would run its code), so names are restricted to a safe pattern and never taken as paths.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from switchboard_runtime.api import SpecialistError

__all__ = ["delete_model", "list_models", "load_model", "model_name", "save_model"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def model_name(name: str) -> str:
    """Normalise and validate a model name (lower case, letters, digits, ``_`` and ``-``)."""
    cleaned = name.strip().lower()
    if not _NAME_RE.fullmatch(cleaned):
        raise SpecialistError(
            "bad_input",
            f"Model name {name!r} must be 1-64 characters of "
            "letters, digits, '_' or '-', starting with a letter or digit.",
        )
    return cleaned


def _folder(data_dir: Path) -> Path:
    folder = data_dir / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_model(data_dir: Path, name: str, pipeline: Any, meta: dict[str, Any]) -> bool:
    """Write model and metadata atomically; returns True when an older model was replaced."""
    import joblib
    import sklearn

    folder = _folder(data_dir)
    target = folder / f"{name}.joblib"
    replaced = target.exists()
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    joblib.dump(pipeline, tmp, compress=3)
    os.replace(tmp, target)
    meta = {
        **meta,
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sklearn_version": sklearn.__version__,
        "bytes": target.stat().st_size,
    }
    tmp_meta = folder / f".{name}.{os.getpid()}.json.tmp"
    tmp_meta.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    os.replace(tmp_meta, folder / f"{name}.json")
    return replaced


def _meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"name": path.stem, "error": "metadata unreadable"}
    return data if isinstance(data, dict) else {"name": path.stem}


def list_models(data_dir: Path) -> list[dict[str, Any]]:
    """Metadata of every saved model, sorted by name."""
    return [_meta(p) for p in sorted(_folder(data_dir).glob("*.json"))]


def load_model(data_dir: Path, name: str) -> tuple[Any, dict[str, Any]]:
    """Load a saved pipeline and its metadata, or say which models exist."""
    import joblib

    name = model_name(name)
    folder = _folder(data_dir)
    path, meta_path = folder / f"{name}.joblib", folder / f"{name}.json"
    if not path.is_file() or path.is_symlink() or not meta_path.is_file():
        known = ", ".join(m.get("name", "?") for m in list_models(data_dir)) or "none yet"
        raise SpecialistError("bad_input", f"No saved model named {name!r}; saved models: {known}.")
    return joblib.load(path), _meta(meta_path)


def delete_model(data_dir: Path, name: str) -> None:
    """Remove a saved model and its metadata."""
    name = model_name(name)
    folder = _folder(data_dir)
    if not (folder / f"{name}.json").exists():
        raise SpecialistError("bad_input", f"No saved model named {name!r}.")
    for suffix in (".joblib", ".json"):
        (folder / f"{name}{suffix}").unlink(missing_ok=True)
