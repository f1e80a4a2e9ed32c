"""What is on the remote side: the dataset's manifest when there is one, else one listing."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._exceptions import ObjectNotFoundError
from .._types import FolderInfo, ObjectInfo
from ..store import Store
from ._index import INTERNAL_PREFIX, RemoteFile

__all__ = ["remote_file_of", "remote_files"]


def _from_manifest(store: Store, cache: bool | Path) -> list[RemoteFile] | None:
    try:
        from ..manifest import read_manifest  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # a build without the manifest layer: listing only
        return None
    manifest: Any = read_manifest(store, cache=cache)
    if manifest is None:
        return None
    entries: Any = manifest.entries() if hasattr(manifest, "entries") else manifest.values()
    out: list[RemoteFile] = []
    for e in entries:
        out.append((e.path, int(e.size), e.etag, e.version_id, e.sha256))
    return out


def remote_file_of(obj: ObjectInfo) -> RemoteFile:
    """The identity of one listed or HEADed object."""
    etag = obj.etag
    if etag is None and obj.last_modified is not None:
        # A local folder has no ETag; its modification time tells a changed file apart.
        etag = f"mtime-{int(obj.last_modified.timestamp() * 1_000_000)}"
    return (obj.path, obj.size, etag, obj.version_id, obj.sha256)


def _from_listing(store: Store, jobs: int = 16) -> Iterator[RemoteFile]:
    """One listing of the whole study. S3 pages come 1,000 keys at a time, one after the
    other, so the top-level folders (``sub-*/``, ``derivatives/`` ...) are listed in parallel."""
    try:
        top = list(store.ls(""))
    except ObjectNotFoundError:
        return  # nothing under this prefix: an empty study (a missing bucket still raises)
    folders = [e.path for e in top if isinstance(e, FolderInfo) and e.path != INTERNAL_PREFIX]
    for e in top:
        if isinstance(e, ObjectInfo):
            yield remote_file_of(e)
    if not folders:
        return
    with ThreadPoolExecutor(max_workers=min(jobs, len(folders))) as pool:
        for listed in pool.map(lambda p: [remote_file_of(o) for o in store.walk(p)], folders):
            yield from listed


def remote_files(
    store: Store, *, use_manifest: bool = True, manifest_cache: bool | Path = True
) -> tuple[list[RemoteFile], str]:
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
    return list(_from_listing(store)), "listing"
