"""Creating, reading, listing and deleting tags.

A tag is written once, by a conditional create (``If-None-Match: *``) through
:func:`~brainbucket.store.swap_bytes`: of several writers racing to create the same name, one
wins and the others get :class:`~brainbucket.ConflictError` (exit 7). On a server that ignores
conditions the create is checked before and after instead (``store/_swap.py``).

Creating a tag reads the pointer and the manifest root (from the local cache when it holds
it) and writes one small object: it copies no data.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from .._config import Config
from .._exceptions import (
    ConflictError,
    ManifestError,
    NotFoundError,
    ObjectNotFoundError,
    UsageError,
)
from .._refs import check_tag_name
from .._types import ObjectInfo
from ..manifest import read_manifest, read_pointer
from ..manifest._history import author as _author
from ..manifest._history import now as _now
from ..manifest._resolve import missing_tag
from ..manifest._tag import DELETED_DIR, TAGS_DIR, Tag, deleted_path, tag_path
from ..store import Store, swap_bytes

__all__ = ["create_tag", "delete_tag", "deleted_tags", "list_tags", "read_tag"]


def read_tag(store: Store, name: str) -> Tag:
    """The tag ``name`` of the study in ``store``.

    Raises
    ------
    NotFoundError
        If there is no such tag; the message names the tags there are.
    UsageError
        If ``name`` is not a valid tag name.
    """
    check_tag_name(name)
    path = tag_path(name)
    try:
        blob = store.read_bytes(path)
    except ObjectNotFoundError as exc:
        raise missing_tag(store, name) from exc
    return Tag.decode(blob, store.describe(path))


def _read_all(store: Store, folder: str) -> list[Tag]:
    try:
        paths = [
            e.path
            for e in store.ls(folder)
            if isinstance(e, ObjectInfo) and e.path.endswith(".json")
        ]
    except ObjectNotFoundError:
        return []
    if not paths:
        return []
    with ThreadPoolExecutor(min(16, len(paths))) as pool:
        blobs = list(pool.map(store.read_bytes, paths))
    return [Tag.decode(b, store.describe(p)) for p, b in zip(paths, blobs, strict=True)]


def list_tags(store: Store) -> list[Tag]:
    """Every tag of the study in ``store``, oldest first.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> from brainbucket.manifest import Entry, Manifest, write_manifest
    >>> store = open_store(tempfile.mkdtemp())
    >>> _ = write_manifest(store, Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)]))
    >>> _ = create_tag(store, "v1", message="first")
    >>> [(t.name, t.files) for t in list_tags(store)]
    [('v1', 1)]
    """
    return sorted(_read_all(store, TAGS_DIR), key=lambda t: (t.date, t.name))


def deleted_tags(store: Store) -> list[Tag]:
    """The records of deleted tags, oldest deletion first."""
    return sorted(_read_all(store, DELETED_DIR), key=lambda t: (t.deleted_date or "", t.name))


def create_tag(
    store: Store,
    name: str,
    *,
    message: str = "",
    root: str | None = None,
    config: Config | None = None,
) -> Tag:
    """Name the study's current manifest (or the manifest ``root``) ``name``, for good.

    Parameters
    ----------
    store
        The study's store.
    name
        The tag's name (see :func:`~brainbucket.snapshots.tag_name_problem`).
    message
        Why (``-m``): what the data was used for.
    root
        The ``sha256:`` digest of the manifest to name; default: the current one.
    config
        Where the manifest cache is, and the author (``BRAINBUCKET_AUTHOR``).

    Raises
    ------
    ConflictError
        If the tag exists already (also when another writer created it meanwhile).
    NotFoundError
        If the study has no manifest yet.
    UsageError
        If ``name`` is not a valid tag name.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> from brainbucket.manifest import Entry, Manifest, write_manifest
    >>> store = open_store(tempfile.mkdtemp())
    >>> _ = write_manifest(store, Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)]))
    >>> tag = create_tag(store, "v1.0.0", message="data of the paper")
    >>> tag.root.startswith("sha256:"), tag.files
    (True, 1)
    """
    check_tag_name(name)
    config = config or Config()
    if root is None:
        pointer = read_pointer(store)
        if pointer is None:
            msg = f"{store.describe()}: nothing to tag, the study has no manifest yet"
            raise NotFoundError(msg, hint="sync data into it first")
        root = pointer[0]
    manifest = read_manifest(store, root=root, cache=config.manifest_dir)
    assert manifest is not None  # read_manifest with a root always answers or raises
    tag = Tag(
        name=name,
        root=root,
        message=message,
        author=_author(store, config),
        date=_now(),
        files=len(manifest),
        size=manifest.size,
    )
    try:
        swap_bytes(
            store, tag_path(name), tag.encode(), expected=None, content_type="application/json"
        )
    except ConflictError as exc:
        raise _exists(store, name) from exc
    return tag


def _exists(store: Store, name: str) -> ConflictError:
    try:
        there = Tag.decode(store.read_bytes(tag_path(name)), store.describe(tag_path(name)))
        names = f", naming {there.root[:19]}… since {there.date[:10]}"
    except (ObjectNotFoundError, ManifestError):
        names = ""
    msg = f"{store.describe()}: tag {name!r} exists already{names}; tags never move"
    return ConflictError(msg, hint="choose another name, or delete it with `--delete --force`")


def delete_tag(
    store: Store,
    name: str,
    *,
    force: bool = False,
    reason: str = "",
    config: Config | None = None,
) -> Tag:
    """Delete the tag ``name``, keeping a record of it and of who deleted it.

    A tag is what papers cite, so deleting one takes ``force=True``. The record is written
    (under ``.brainbucket/tags-deleted/``) before the tag is deleted.

    Raises
    ------
    UsageError
        Without ``force``.
    NotFoundError
        If there is no such tag.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> from brainbucket.manifest import Entry, Manifest, write_manifest
    >>> store = open_store(tempfile.mkdtemp())
    >>> _ = write_manifest(store, Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)]))
    >>> _ = create_tag(store, "v1")
    >>> delete_tag(store, "v1", force=True, reason="wrong data").deleted_reason
    'wrong data'
    >>> list_tags(store), [t.name for t in deleted_tags(store)]
    ([], ['v1'])
    """
    tag = read_tag(store, name)
    if not force:
        msg = f"{store.describe()}: deleting tag {name!r} needs --force (papers may cite it)"
        raise UsageError(msg, hint="add --force if it must go; the deletion is recorded")
    config = config or Config()
    when = _now()
    record = replace(
        tag, deleted_by=_author(store, config), deleted_date=when, deleted_reason=reason
    )
    store.write_bytes(
        deleted_path(name, when),
        record.encode(),
        if_none_match=True,
        content_type="application/json",
    )
    store.delete(tag_path(name))
    return record
