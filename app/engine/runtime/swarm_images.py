"""Images on every swarm node without a registry: ``docker save | docker load``, streamed.

Swarm never moves images between nodes; it expects each node to pull. There is no registry
here (and a user's machines may have none either), so the engine copies a specialist image from
the engine that built it to each node's engine: the saved archive is streamed from one API
straight into the other's ``/images/load`` (never held in memory, never written to disk), and a
node that already has the image id is skipped. Services are then created from the image **id**,
which Swarm does not try to resolve or pull.

The engine reaches each node's own Docker API by a URL in the settings
(``swarm_node_engines``: hostname -> URL, e.g. ``ssh://user@host`` or, in the tests, a Unix
socket): the swarm API of the manager cannot load an image onto another node.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.engine.core.errors import EngineError, NotFound
from app.engine.runtime.docker_errors import docker_errors

__all__ = ["CHUNK_BYTES", "ImageCopy", "distribute_image", "has_image"]

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class ImageCopy:
    """What happened to one node: the image was already there, or was loaded (and how long it took)."""

    node: str
    image_id: str
    action: str  # present | loaded | unreachable
    seconds: float
    bytes: int = 0


def has_image(client: Any, image_id: str) -> bool:
    """Whether the engine of ``client`` (a docker SDK client) holds ``image_id``."""
    try:
        with docker_errors(f"inspect image {image_id}"):
            client.api.inspect_image(image_id)
        return True
    except NotFound:
        return False


class _Counted:
    """An iterator over the save stream that counts the bytes passing through."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.bytes += len(chunk)
            yield chunk


def _copy(source: Any, ref: str, target: Any, node: str, image_id: str) -> ImageCopy:
    began = time.monotonic()
    with docker_errors(f"copy image {ref} to node {node}"):
        stream = _Counted(source.api.get_image(ref, chunk_size=CHUNK_BYTES))
        for message in target.api.load_image(iter(stream), quiet=True):
            if isinstance(message, dict) and message.get("error"):
                raise EngineError(f"node {node} could not load image {ref}: {message['error']}")
    if not has_image(target, image_id):
        raise EngineError(f"node {node} loaded image {ref} but does not hold id {image_id}")
    return ImageCopy(node, image_id, "loaded", round(time.monotonic() - began, 3), stream.bytes)


def distribute_image(source: Any, ref: str, targets: Mapping[str, Any]) -> list[ImageCopy]:
    """Make ``ref`` (a tag or id on ``source``) present on every engine of ``targets``.

    Parameters
    ----------
    source
        A docker SDK client of the engine that holds the image (where it was built).
    ref
        The image's tag or id. A tag is saved with the archive, so nodes get the same tag.
    targets
        Node name -> docker SDK client of that node's engine (the source's own node may be
        among them: it is skipped as already present).

    Returns
    -------
    list[ImageCopy]
        One entry per node, in ``targets``' order. Raises ``EngineError`` naming the node when
        a copy fails (the nodes before it keep their copy).
    """
    with docker_errors(f"inspect image {ref}"):
        image_id = str(source.api.inspect_image(ref)["Id"])
    out: list[ImageCopy] = []
    for node, target in targets.items():
        began = time.monotonic()
        if has_image(target, image_id):
            out.append(ImageCopy(node, image_id, "present", round(time.monotonic() - began, 3)))
            continue
        out.append(_copy(source, ref, target, node, image_id))
    return out
