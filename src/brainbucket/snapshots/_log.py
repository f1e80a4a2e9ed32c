"""A study's history: each version of its manifest, back along the parents the roots record.

Every manifest root written by ``sync`` names the root it replaced (``parent``), when and by
whom. The log starts at the current version (or at a snapshot) and walks back; each step
reads one root and the shards that differ from its parent's (from the local cache when it
holds them). Roots written before brainbucket recorded parents end the walk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import NotFoundError
from ..manifest import read_manifest, read_pointer
from ..manifest._io import read_root
from ..manifest._resolve import resolve_ref
from ..store import Store
from ._diff import diff_manifests
from ._tags import list_tags

__all__ = ["LogEntry", "study_log"]


@dataclass
class LogEntry:
    """One version of a study: who wrote it when, and what it changed from its parent.

    ``added``, ``changed``, ``removed`` and the bytes are ``None`` for a version written
    before brainbucket recorded parents: what it changed is not known.
    """

    root: str
    parent: str | None
    date: str | None
    author: str | None
    files: int
    size: int
    added: int | None = None
    changed: int | None = None
    removed: int | None = None
    bytes_added: int | None = None
    bytes_removed: int | None = None
    tags: list[str] = field(default_factory=list)
    recorded: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def study_log(
    store: Store,
    *,
    limit: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
) -> tuple[list[LogEntry], bool]:
    """The study's versions, newest first, and whether the walk reached its first version.

    ``False`` means it stopped at a version written before parents were recorded (or at
    ``limit``): history before it is not known here.

    Raises
    ------
    NotFoundError
        If the study has no manifest.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> from brainbucket.manifest import Entry, Manifest, write_manifest
    >>> store = open_store(tempfile.mkdtemp())
    >>> m = Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)])
    >>> _ = write_manifest(store, m)
    >>> m.add(Entry("b.txt", 2, "sha256:" + "1" * 64))
    >>> _ = write_manifest(store, m)
    >>> log, complete = study_log(store, cache=False)
    >>> [(e.added, e.files) for e in log], complete
    ([(1, 2), (1, 1)], True)
    """
    if store.url.ref:
        root: str | None = resolve_ref(store, store.url.ref)
    else:
        pointer = read_pointer(store)
        if pointer is None:
            msg = f"{store.describe()}: the study has no manifest, so no history"
            raise NotFoundError(msg, hint="sync data into it first")
        root = pointer[0]
    tagged: dict[str, list[str]] = {}
    for t in list_tags(store):
        tagged.setdefault(t.root, []).append(t.name)
    out: list[LogEntry] = []
    while root is not None and (limit is None or len(out) < limit):
        info = read_root(store, root, cache=cache)
        entry = LogEntry(
            root, info.parent, info.date, info.author, info.count, info.size,
            tags=tagged.get(root, []), recorded=info.recorded,
        )  # fmt: skip
        out.append(entry)
        if not info.recorded:
            return out, False
        this = read_manifest(store, root=root, cache=cache)
        assert this is not None
        if info.parent is None:
            d = diff_manifests(_empty(), this)
        else:
            before = read_manifest(store, root=info.parent, cache=cache)
            assert before is not None
            d = diff_manifests(before, this)
        entry.added, entry.changed, entry.removed = len(d.added), len(d.changed), len(d.removed)
        entry.bytes_added, entry.bytes_removed = d.bytes_added, d.bytes_removed
        root = info.parent
    return out, root is None


def _empty() -> Any:
    from ..manifest import Manifest

    return Manifest()
