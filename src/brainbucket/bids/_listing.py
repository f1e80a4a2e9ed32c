"""What is on the remote side: the dataset's manifest when there is one, else one listing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._types import ObjectInfo
from ..store import Store
from ._index import INTERNAL_PREFIX, FileRow

__all__ = ["remote_file_of", "remote_files"]


def _from_manifest(store: Store, cache: bool | Path) -> list[FileRow] | None:
    try:
        from ..manifest import read_manifest  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # a build without the manifest layer: listing only
        return None
    manifest: Any = read_manifest(store, cache=cache)
    if manifest is None:
        return None
    entries: Any = manifest.entries() if hasattr(manifest, "entries") else manifest.values()
    out: list[FileRow] = []
    for e in entries:
        out.append((e.path, int(e.size), e.etag, e.version_id, e.sha256))
    return out


def remote_file_of(obj: ObjectInfo) -> FileRow:
    """The identity of one listed or HEADed object."""
    etag = obj.etag
    if etag is None and obj.last_modified is not None:
        # A local folder has no ETag; its modification time tells a changed file apart.
        etag = f"mtime-{int(obj.last_modified.timestamp() * 1_000_000)}"
    return (obj.path, obj.size, etag, obj.version_id, obj.sha256)


def remote_files(
    store: Store, *, use_manifest: bool = True, manifest_cache: bool | Path = True
) -> tuple[list[FileRow], str]:
    """Every file of the dataset at ``store``'s root and where the answer came from.

    ``manifest_cache`` is where manifest parts are kept, as ``read_manifest``'s ``cache``.

    Returns
    -------
    (files, source)
        ``source`` is ``"manifest"`` (one small read, sha256 per file) or ``"listing"``
        (one streamed listing, size and ETag per file).
    """
    if use_manifest:
        found = _from_manifest(store, manifest_cache)
        if found is not None:
            return found, "manifest"
    listed = store.walk_all(skip={INTERNAL_PREFIX})
    return [remote_file_of(o) for o in listed], "listing"
