"""A specialist's own code imported on the host: its folder and the runtime on ``sys.path``, its handler by name.

Every specialist's handler is called ``handler.py``, so each is imported under a name of its
own (``<folder>_handler_under_test``) and kept in ``sys.modules`` for the test session.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SPECIALISTS = Path(__file__).resolve().parents[2] / "specialists"


def specialist_folder(name: str) -> Path:
    """``specialists/<name>``, with it and the runtime importable (its helper modules import by bare name)."""
    folder = SPECIALISTS / name
    for path in (SPECIALISTS / "runtime", folder):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return folder


def load_handler(name: str) -> ModuleType:
    """The ``handler.py`` of ``specialists/<name>``, imported once under a unique module name."""
    module_name = f"{name.replace('-', '_')}_handler_under_test"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, specialist_folder(name) / "handler.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]
