"""Gathering both sides' state before planning: the remote manifest (or a listing), the local
walk, and the hashes that are cached or must be computed."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import BucketNotFoundError, ObjectNotFoundError, UsageError
from .._types import ObjectInfo
from .._url import StoreURL, parse_url
from ..manifest import META_DIR, Manifest, read_manifest
from ..manifest._io import snapshot_is_read_only
from ..store import S3Settings, Store, open_store
from ._local import Filters, LocalFile, Scan, hash_files, scan
from ._plan import needs_hash
from ._statcache import StatCache

__all__ = ["Side", "gather", "make_filters", "remote_listing"]


@dataclass
class Side:
    """Everything gathered before planning."""

    direction: str
    root: Path
    store: Store
    manifest: Manifest | None
    remote: dict[str, Any]
    local: Scan
    cache: StatCache
    hashed: list[LocalFile]
    filters: Filters
    same: set[str]
    # Folder markers of a bucket without a manifest (``dir/``): folders to make on download.
    folders: set[str]


def _parse(url: str | os.PathLike[str]) -> StoreURL:
    return parse_url(url)


def _local_root(url: StoreURL) -> Path:
    return Path(url.prefix)


def _check_apart(src: Path, dst: Path) -> None:
    """Refuse to sync a folder onto itself or across a nesting: a destination inside the
    source would be copied into itself again on every run, and a source inside the
    destination would be deleted by ``--delete`` as a file the source lacks."""
    a, b = src.resolve(), dst.resolve()
    if a == b:
        msg = f"source and destination are the same folder: {src}"
        raise UsageError(msg, hint="sync into another folder")
    if a in b.parents:
        msg = f"the destination {dst} is inside the source {src}"
        raise UsageError(msg, hint="sync into a folder outside the source")
    if b in a.parents:
        msg = f"the source {src} is inside the destination {dst}"
        raise UsageError(msg, hint="sync into a folder that does not hold the source")


def remote_listing(
    store: Store, jobs: int = 8, *, markers: set[str] | None = None
) -> dict[str, ObjectInfo]:
    """Every object under the store root (without ``.brainbucket/``), by path; folder markers
    are added to ``markers`` where given, never listed as objects."""
    return {o.path: o for o in store.walk_all(jobs=jobs, skip={META_DIR + "/"}, markers=markers)}


def _no_bucket(store: Store, *, upload: bool) -> BucketNotFoundError:
    # An upload's bucket may just need creating; a download's name is probably mistyped.
    return BucketNotFoundError.named(f"s3://{store.url.bucket}", writing=upload)


def _remote_state(
    store: Store, *, must_exist: bool, manifest_cache: Path, markers: set[str]
) -> tuple[Manifest | None, dict[str, Any]]:
    upload = not must_exist
    try:
        manifest = read_manifest(store, cache=manifest_cache)
    except BucketNotFoundError as exc:
        raise _no_bucket(store, upload=upload) from exc
    if manifest is not None:
        return manifest, manifest  # type: ignore[return-value]
    if not store.bucket_exists():
        raise _no_bucket(store, upload=upload)
    listing = remote_listing(store, markers=markers)
    if must_exist and not listing and not markers:
        msg = f"{store.describe()}: nothing there (no objects, no manifest)"
        raise ObjectNotFoundError(msg, hint=f"list it with `brainbucket ls {store.describe()}`")
    return None, listing


def gather(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    filters: Filters,
    follow_symlinks: bool,
    state_dir: Path,
    manifest_cache: Path,
    settings: S3Settings,
) -> Side:
    s, d = _parse(src), _parse(dst)
    if s.is_s3 and d.is_s3:
        if (s.bucket, s.prefix.strip("/")) == (d.bucket, d.prefix.strip("/")):
            where = f"s3://{s.bucket}/{s.prefix.strip('/')}".rstrip("/")
            msg = f"source and destination are the same: {where}"
            raise UsageError(msg, hint="sync a bucket with a folder")
        msg = "both sides are buckets: sync copies between a folder and a bucket"
        raise UsageError(msg, hint="sync down to a folder, then up to the other bucket")
    if not s.is_s3 and not d.is_s3:
        _check_apart(_local_root(s), _local_root(d))
    if s.is_s3:
        direction, root, store = "download", _local_root(d), open_store(s, settings=settings)
        if root.exists() and not root.is_dir():
            msg = f"{root} is a file; the destination must be a folder"
            raise UsageError(msg)
    else:
        direction, root = "upload", _local_root(s)
        if d.ref:  # refused before anything is uploaded: a snapshot's files never change
            raise snapshot_is_read_only(open_store(d, settings=settings))
        if not root.exists():
            msg = f"no such folder: {root}"
            raise ObjectNotFoundError(msg, hint="check the source path")
        if not root.is_dir():
            msg = f"{root} is a file; sync works on folders"
            raise UsageError(msg, hint="use `brainbucket cp FILE URL` for one file")
        store = open_store(d, settings=settings)
        if not d.is_s3:
            Path(d.prefix).mkdir(parents=True, exist_ok=True)
    folders: set[str] = set()
    manifest, remote = _remote_state(
        store, must_exist=direction == "download", manifest_cache=manifest_cache, markers=folders
    )
    local = (
        scan(
            root,
            filters=filters,
            follow_symlinks=follow_symlinks,
            clean_stale=direction == "download",
        )
        if root.is_dir()
        else Scan()
    )
    cache = StatCache(state_dir / "hashes.sqlite", store.identity)
    known = cache.load(root)
    # Rows of this (folder, dataset) pair were all consistent with the manifest the last
    # clean sync left; if the dataset still has it, a file whose stat matches is identical.
    trusted = (
        manifest is not None and not filters.active and cache.synced_root(root) == manifest.root
    )
    if manifest is not None and not trusted:
        if filters.prefixes:
            # Only the shards that may hold the wanted paths are read.
            remote = {e.path: e for p in filters.prefixes for e in manifest.entries(p)}
        else:
            remote = manifest.flat()  # everything is compared: fetch every shard, in parallel
    same: set[str] = set()
    need_sha: list[LocalFile] = []
    md5_for: set[str] = set()
    for path, f in local.files.items():
        row = known.get(path)
        if row is not None and row[0] == f.size and row[1] == f.mtime_ns and row[2] == f.inode:
            f.sha256 = row[3]
            if trusted:
                same.add(path)
                continue
        r = remote.get(path)
        if r is None:
            continue
        sha, md5 = needs_hash(f, r)
        if md5:
            md5_for.add(path)
        if sha or md5:
            need_sha.append(f)
    errors = hash_files(need_sha, md5_for=md5_for)
    for path, _ in errors:
        local.files.pop(path, None)
    local.errors.extend(errors)
    hashed = [f for f in need_sha if f.sha256 is not None]
    return Side(
        direction, root, store, manifest, remote, local, cache, hashed, filters, same, folders
    )


def make_filters(
    include: Sequence[str],
    exclude: Sequence[str],
    rules: Sequence[tuple[str, str]] | None,
    select: Callable[[str], bool] | None,
    prefixes: Sequence[str] | str = (),
) -> Filters:
    if rules is None:
        rules = [("exclude", p) for p in exclude] + [("include", p) for p in include]
    for kind, _ in rules:
        if kind not in ("include", "exclude"):
            msg = f"filter kind must be 'include' or 'exclude', not {kind!r}"
            raise UsageError(msg)
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    return Filters(tuple(rules), select, tuple(p.lstrip("/") for p in prefixes if p))
