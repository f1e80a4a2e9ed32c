"""Reading and writing manifests in a store: one pointer, one root, shards on demand."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import ConflictError, ManifestError, ObjectNotFoundError, UsageError
from .._hashing import hex_of, sha256_bytes
from .._url import StoreURL
from ..store import S3Settings, Store, open_store, swap_bytes
from ._entry import Entry
from ._format import (
    HEAD_PATH,
    RootInfo,
    ShardRef,
    check_digest,
    decode_pointer,
    decode_root,
    decode_root_info,
    decode_shard,
    encode_pointer,
    root_path,
    shard_path,
)
from ._manifest import Manifest

__all__ = [
    "find_manifest",
    "read_manifest",
    "read_pointer",
    "read_root",
    "snapshot_is_read_only",
    "write_manifest",
]

_CONFLICT_HINT = "someone else synced meanwhile; re-run to merge their changes with yours"
_UNSET: Any = object()


def snapshot_is_read_only(store: Store) -> UsageError:
    """The error for a write into a snapshot (``s3://study@v1.0.0``)."""
    base = StoreURL(store.url.scheme, store.url.bucket, store.url.prefix)
    msg = f"{store.describe()} is a snapshot, and snapshots are read-only"
    return UsageError(msg, hint=f"write into the study itself: {base}")


def _read_with_etag(store: Store, path: str) -> tuple[bytes, str]:
    info, chunks = store.stream(path)
    data = b"".join(chunks)
    # A local folder reports no ETag; its conditional writes use the content's sha256.
    return data, info.etag or hex_of(sha256_bytes(data))


def read_pointer(store: Store) -> tuple[str, str] | None:
    """``(root digest, pointer ETag)`` of the dataset's current manifest, or ``None``.

    Raises
    ------
    ManifestError
        If the pointer is malformed.
    """
    try:
        blob, etag = _read_with_etag(store, HEAD_PATH)
    except ObjectNotFoundError:
        return None
    return decode_pointer(blob, store.describe(HEAD_PATH)), etag


def _cache_folder(cache: bool | str | os.PathLike[str]) -> Path | None:
    if cache is True:
        return Config().manifest_dir  # called on its own: the environment's cache
    return Path(cache) if cache else None


def _read_blob(store: Store, path: str, digest: str, cache: Path | None) -> bytes:
    """A content-addressed object, from the local cache when it holds it (immutable, so any
    copy that still hashes to its name is good)."""
    cached = cache / digest.partition(":")[2] if cache is not None else None
    if cached is not None:
        with contextlib.suppress(OSError):
            blob = cached.read_bytes()
            if sha256_bytes(blob) == digest:
                return blob
    what = store.describe(path)
    try:
        blob = store.read_bytes(path)
    except ObjectNotFoundError as exc:
        msg = f"{what}: part of the manifest is missing"
        raise ManifestError(msg) from exc
    check_digest(blob, digest, what)
    if cached is not None:
        with contextlib.suppress(OSError):
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            tmp.write_bytes(blob)
            os.replace(tmp, cached)
    return blob


def read_root(
    store: Store, digest: str, *, cache: bool | str | os.PathLike[str] = True
) -> RootInfo:
    """The root ``digest`` of the dataset in ``store``: its shards, parent, date and author.

    One GET, none when the local cache holds it (roots are immutable).

    Raises
    ------
    ManifestError
        If the root is missing, damaged or does not match its digest.
    """
    rpath = root_path(digest)
    return decode_root_info(
        _read_blob(store, rpath, digest, _cache_folder(cache)), store.describe(rpath)
    )


def read_manifest(
    store: Store,
    prefix: str | None = None,
    *,
    cache: bool | str | os.PathLike[str] = True,
    root: str | None = None,
) -> Manifest | None:
    """Read the dataset's current manifest, or ``None`` if it has none.

    One GET of the pointer, one of the root; shards are fetched when first needed. With
    ``prefix``, only the shards that may hold paths under it are fetched, and the result holds
    only those entries.

    Parameters
    ----------
    store
        The dataset's store (its root is the dataset root).
    prefix
        Keep only paths starting with this (e.g. ``"sub-01/"``).
    cache
        Keep roots and shards (immutable, named by their digest) in the local cache, so a
        later read of an unchanged dataset fetches only the pointer: ``True`` in the user
        cache (``BRAINBUCKET_CACHE``/manifests), or in the folder given; ``False``: nowhere.
    root
        Read this version (a root's ``sha256:`` digest, as a tag names it) instead of the
        one the pointer names; the pointer is not read.

    Raises
    ------
    ManifestError
        If the pointer, root or a shard is malformed, truncated or does not match its digest.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> read_manifest(store) is None
    True
    >>> _ = write_manifest(store, Manifest([Entry("sub-01/a.txt", 1, "sha256:" + "0" * 64)]))
    >>> [e.path for e in read_manifest(store, prefix="sub-01/").entries()]
    ['sub-01/a.txt']
    """
    etag: str | None = None
    if root is None and store.url.ref:
        from ._resolve import resolve_ref  # a snapshot: its tag or digest names the root

        root = resolve_ref(store, store.url.ref)
    if root is None:
        pointer = read_pointer(store)
        if pointer is None:
            return None
        root, etag = pointer
    rpath = root_path(root)
    folder = _cache_folder(cache)
    refs = decode_root(_read_blob(store, rpath, root, folder), store.describe(rpath))

    def load(ref: ShardRef) -> dict[str, Entry]:
        spath = shard_path(ref.sha256)
        shard = decode_shard(_read_blob(store, spath, ref.sha256, folder), store.describe(spath))
        if len(shard) != ref.count:
            msg = f"{store.describe(spath)}: holds {len(shard)} entries, the root says {ref.count}"
            raise ManifestError(msg)
        return shard

    def is_cached(ref: ShardRef) -> bool:
        return folder is not None and (folder / ref.sha256.partition(":")[2]).exists()

    m = Manifest._lazy(refs, load, root, is_cached)
    m.pointer_etag = etag
    if prefix:
        sub = m.subset(prefix)
        sub.pointer_etag = etag
        return sub
    return m


def find_manifest(
    url: StoreURL,
    *,
    settings: S3Settings | None = None,
    cache: bool | str | os.PathLike[str] = True,
) -> tuple[Manifest, str] | None:
    """The manifest of the dataset holding ``url``: its own, or the nearest one above it.

    A listing of ``s3://bucket/study/sub-01`` belongs to the dataset ``s3://bucket/study``
    when that is where the manifest is. Each level costs one small GET of a pointer, from
    ``url`` up to the bucket; a local folder is asked only about itself.

    Parameters
    ----------
    url
        Where a listing starts.
    settings
        How to reach the server.
    cache
        As for :func:`read_manifest`.

    Returns
    -------
    tuple of Manifest and str, or None
        The manifest and ``url``'s path inside its dataset (``""`` at the dataset root, else
        ending in ``/``); ``None`` if no level has one.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> from brainbucket._url import parse_url
    >>> root = tempfile.mkdtemp()
    >>> _ = write_manifest(open_store(root), Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)]))
    >>> manifest, below = find_manifest(parse_url(root))
    >>> list(manifest), below
    (['a.txt'], '')
    """
    parts = url.prefix.strip("/").split("/") if url.is_s3 and url.prefix.strip("/") else []
    for n in range(len(parts), -1, -1):
        here = StoreURL(url.scheme, url.bucket, "/".join(parts[:n]), url.ref) if url.is_s3 else url
        manifest = read_manifest(open_store(here, settings=settings), cache=cache)
        if manifest is not None:
            below = "/".join(parts[n:])
            return manifest, below + "/" if below else ""
        if not url.is_s3:
            break
    return None


def _put_immutable(store: Store, path: str, blob: bytes) -> None:
    try:
        store.write_bytes(path, blob, if_none_match=True)
    except ConflictError:
        pass  # content-addressed: an object already there holds these very bytes


def write_manifest(
    store: Store,
    manifest: Manifest,
    *,
    expected: str | None = _UNSET,
    jobs: int = 16,
    history: bool = True,
) -> str:
    """Store ``manifest`` and move the dataset's pointer to it; returns the new pointer ETag.

    Changed shards and the root are written immutably under their own digests, then the
    pointer moves by one conditional write: only if it still has the ETag ``expected``
    (``None``: only if there is no pointer yet). On a server that ignores conditional writes
    the move is checked before and after instead (:func:`~brainbucket.store.swap_bytes`). Shards and root left behind by a lost race
    are harmless; nothing points at them.

    Parameters
    ----------
    store
        The dataset's store.
    manifest
        The manifest to store.
    expected
        ETag of the pointer the manifest was based on; defaults to ``manifest.pointer_etag``.
    jobs
        Shards written at once.
    history
        Record in the root the version it replaces (``parent``), when and by whom, so
        ``brainbucket log`` can walk back. ``False`` keeps the root a function of the
        entries alone (a local folder's record of what it holds).

    Raises
    ------
    ConflictError
        If the pointer moved meanwhile (someone else synced): re-run.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> m = Manifest([Entry("README", 2, "sha256:" + "1" * 64)])
    >>> etag = write_manifest(store, m)
    >>> read_manifest(store).root == m.root
    True
    """
    if store.url.ref:
        raise snapshot_is_read_only(store)
    if expected is _UNSET:
        expected = manifest.pointer_etag
    record: dict[str, object] | None = None
    if history:
        from ._history import author, now  # the login and key: only when a version is recorded

        record = {"parent": manifest.base, "date": now(), "author": author(store)}
    refs, blobs, root_blob = manifest._serialise(record)
    root = sha256_bytes(root_blob)
    if blobs:
        with ThreadPoolExecutor(max(1, min(jobs, len(blobs)))) as pool:
            list(
                pool.map(lambda kv: _put_immutable(store, shard_path(kv[0]), kv[1]), blobs.items())
            )
    _put_immutable(store, root_path(root), root_blob)
    data = encode_pointer(root)
    try:
        # One conditional PUT; checked before and after where the server ignores conditions.
        result = swap_bytes(store, HEAD_PATH, data, expected=expected)
    except ConflictError as exc:
        msg = f"{store.describe()}: the dataset's manifest changed while this sync ran"
        raise ConflictError(msg, hint=_CONFLICT_HINT) from exc
    etag = result.etag or hex_of(sha256_bytes(data))
    manifest._mark_written(refs, root)
    manifest.pointer_etag = etag
    return etag
