"""Scaffold a specialist folder for a proposal: ``specialist.toml``, ``Dockerfile``, ``handler.py``.

The template is modelled on ``specialists/database``, the simplest built-in specialist: the
shared runtime image, no extra packages (the standard library only), one handler module. The
handler answers one explicit command (``describe``: what it is and which inputs it got) and hands
everything else to the engine's program path (it raises ``NeedsPlan``; the manifest's
``[program]`` section lets the planning model write a standard-library program for the task,
run in a sandbox like any other specialist's). The user may edit the files before accepting.

Every scaffold is checked with the real catalogue loader (:func:`~app.engine.core.specs.load_spec`)
before it is offered, so an accepted proposal loads like a built-in specialist.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.engine.core.errors import BadInput
from app.engine.core.specs import SpecialistSpec, load_spec

__all__ = ["ScaffoldRequest", "install", "toml_string", "write_scaffold"]

FILES = ("specialist.toml", "Dockerfile", "handler.py")
LIBRARIES = ("json", "csv", "re", "math", "statistics", "collections", "datetime")


@dataclass(frozen=True)
class ScaffoldRequest:
    """What a scaffold is made from (a proposal's figures)."""

    proposal_id: str
    name: str  # the specialist id; must match the manifest id pattern
    title: str
    description: str
    capabilities: Sequence[str]
    examples: Sequence[str]
    size: int = 0
    accepted_inputs: Sequence[str] = field(default_factory=lambda: (".txt", ".csv", ".json"))


def toml_string(value: str) -> str:
    """A TOML basic string holding ``value`` exactly (JSON escapes are TOML escapes, bar DEL)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(values: Sequence[str]) -> str:
    if not values:
        return "[]"
    return "[\n" + "".join(f"  {toml_string(v)},\n" for v in values) + "]"


def _manifest(req: ScaffoldRequest) -> str:
    examples = [e for e in (" ".join(x.split())[:300] for x in req.examples) if e] or [f"describe {req.name}"]
    guide = (
        f"Tasks of this specialist look like: {'; '.join(examples[:3])}. Read any attached file with the "
        "standard library (csv, json), compute what the task asks and print the answer; write a CSV "
        "file for tables."
    )
    return f"""# Scaffolded by Switchboard from proposal {req.proposal_id} ({req.size} tasks no specialist served well).
# Edit freely before accepting: the engine validates it with the same loader as specialists/*.
id = {toml_string(req.name)}
title = {toml_string(req.title[:80])}
description = {toml_string(req.description)}
capabilities = {_toml_list(list(req.capabilities) or [req.name])}
example_tasks = {_toml_list(examples)}
accepted_inputs = {_toml_list(list(req.accepted_inputs))}
needs_network = false
icon = ""

[limits]
memory_mb = 256
cpus = 0.5
pids = 32
tmpfs_mb = 64
task_timeout_s = 60
max_output_bytes = 1048576

[scaling]
concurrency = 2
min_replicas = 0
max_replicas = 1
idle_ttl_s = 600
fresh_per_task = false

[program]
libraries = {_toml_list(list(LIBRARIES))}
guide = {toml_string(guide)}
"""


def _dockerfile(req: ScaffoldRequest) -> str:
    return f"""# Scaffolded specialist {req.name} (proposal {req.proposal_id}): the standard library on the shared runtime.
ARG RUNTIME_IMAGE
FROM ${{RUNTIME_IMAGE}}
USER root
COPY handler.py /opt/specialist/
LABEL io.switchboard.managed="true" io.switchboard.specialist="{req.name}"
ENV SWITCHBOARD_SPECIALIST={req.name}
USER 10001
"""  # noqa: E501 (the Dockerfile's lines are kept as they are)


_HANDLER = '''"""{title}: scaffolded by Switchboard from proposal {proposal_id}.

``describe`` answers at once (what this specialist is, and the inputs it was given); any other
task raises ``NeedsPlan`` so the engine's planning model writes a standard-library program for
it (the manifest's ``[program]`` section). Replace this with real recognisers as the
specialisation matures.
"""

from __future__ import annotations

from switchboard_runtime.api import NeedsPlan, Result, Table, Task

__all__ = ["handle"]

NAME = {name}
TITLE = {title_literal}


def handle(task: Task) -> Result:
    """Answer ``describe``; leave every other task to a model-written program."""
    words = task.text.strip().lower().split()
    if words[:1] == ["describe"]:
        rows = [[item.name, item.bytes] for item in task.inputs]
        answer = f"{{TITLE}} ({{NAME}}) is ready; {{len(rows)}} input file(s)."
        return Result(
            answer=answer,
            data={{"specialist": NAME, "inputs": len(rows)}},
            tables=[Table(name="inputs", columns=["name", "bytes"], rows=rows)] if rows else [],
            operation_kind="describe",
            operation_text="describe",
        )
    raise NeedsPlan(f"{{TITLE}} has no recogniser for this task yet; a program is needed.")
'''


def _handler(req: ScaffoldRequest) -> str:
    title = req.title.replace('"""', "'''")
    return _HANDLER.format(
        title=title, proposal_id=req.proposal_id, name=json.dumps(req.name), title_literal=json.dumps(req.title)
    )


def write_scaffold(req: ScaffoldRequest, root: Path) -> tuple[Path, SpecialistSpec]:
    """Write ``<root>/<name>/`` (replacing an older scaffold there) and load it as a manifest.

    Raises
    ------
    ManifestError
        The generated manifest does not load (a bug in the template; nothing is offered).
    """
    folder = root / req.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "specialist.toml").write_text(_manifest(req), encoding="utf-8")
    (folder / "Dockerfile").write_text(_dockerfile(req), encoding="utf-8")
    (folder / "handler.py").write_text(_handler(req), encoding="utf-8")
    return folder, load_spec(folder / "specialist.toml")


def install(scaffold: Path, target_root: Path, taken: set[str]) -> SpecialistSpec:
    """Copy a (possibly edited) scaffold into the user's specialists folder and load it from there.

    Raises
    ------
    BadInput
        The scaffold is missing, its manifest does not load, or its id is taken.
    """
    manifest = scaffold / "specialist.toml"
    if not manifest.is_file():
        raise BadInput(f"the scaffold {scaffold} has no specialist.toml")
    spec = load_spec(manifest)  # ManifestError (a BadInput) names the field an edit broke
    if spec.id in taken:
        raise BadInput(f"a specialist called {spec.id!r} exists already; rename the scaffold in {manifest}")
    target = target_root / spec.id
    if target.exists():
        raise BadInput(f"{target} exists already; remove it or rename the scaffold in {manifest}")
    target_root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(scaffold, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return load_spec(target / "specialist.toml")
