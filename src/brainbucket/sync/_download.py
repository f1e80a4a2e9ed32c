"""Verified downloads: whole objects through a private temp file, large ones resumable by range.

A resumable download keeps its partial data in ``.<name>.resume.bbpart`` beside the target
and what it expects (size, ETag, version, sha256) in the state folder. A later run continues
with a Range GET only when the object still has that ETag; the finished file is verified
whole before it is renamed into place, so a partial that went stale can never slip through.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import blake3 as _blake3
import obstore
from filelock import FileLock, Timeout

from .._exceptions import BrainbucketError, ConflictError, IntegrityError
from .._hashing import (
    CHUNK,
    TMP_SUFFIX,
    check_digest,
    flush_each_file,
    format_sha256,
    hex_of,
)
from ..store import S3Store, Store
from ..store._direct import Abort
from ..store._errors import printable
from ..store._smallget import Want
from ._actions import Download

__all__ = ["download", "download_here", "plain_md5", "want_of"]

_MD5_RE = re.compile(r"^[0-9a-f]{32}$")

Progress = Callable[[int], None]


def plain_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, when it is a plain one (not multipart, not encrypted)."""
    if not etag:
        return None
    etag = etag.strip('"').lower()
    return etag if _MD5_RE.match(etag) else None


def _check_md5(a: Download) -> str | None:
    # A sha256 from the manifest is the stronger check; MD5 only stands in when it is absent.
    return None if a.sha256 else plain_md5(a.etag)


async def download(
    store: Store, a: Download, progress: Progress, *, state_dir: Path, resume_threshold: int
) -> str:
    """Fetch one object as ``a`` describes it; returns the ``sha256:`` digest of what landed."""
    if isinstance(store, S3Store) and a.size >= resume_threshold and (a.sha256 or a.etag):
        return await _resumable(store, a, progress, state_dir)
    return await _whole(store, a, progress)


def _whole_kwargs(a: Download, progress: Progress | None) -> dict[str, Any]:
    return {
        "version_id": a.version_id,
        "expected_size": a.size,
        "expected_sha256": a.sha256,
        "expected_blake3": a.blake3,
        "expected_md5": _check_md5(a),
        # The object's time, as aws-cli and rclone do. Besides being what users expect, a
        # time in the past lets the hash cache trust the verified digest at once: a file
        # modified "just now" could change again within the same mtime tick, so such entries
        # are not trusted, and the next sync would re-read every file it just downloaded.
        "keep_mtime": True,
        "progress": progress,
    }


async def _whole(store: Store, a: Download, progress: Progress) -> str:
    return await store.adownload(a.path, a.dest, **_whole_kwargs(a, progress))


def download_here(store: S3Store, a: Download, progress: Progress | None, abort: Abort) -> str:
    """Fetch one object below the resume threshold on the calling thread (S3 direct path).

    ``abort`` lets another thread cut it short (see :class:`brainbucket.store._direct.Abort`).
    """
    return store.download(a.path, a.dest, abort=abort, **_whole_kwargs(a, progress))


def want_of(store: S3Store, a: Download) -> Want:
    """``a`` as the one-thread path for small files takes it, with the same checks."""
    kw = _whole_kwargs(a, None)
    return Want(
        path=a.path,
        key=store.key(a.path),
        dest=os.fspath(a.dest),
        what=printable(store.describe(a.path)),
        size=kw["expected_size"],
        sha256=kw["expected_sha256"],
        blake3=kw["expected_blake3"],
        md5=kw["expected_md5"],
        keep_mtime=kw["keep_mtime"],
        tag=a,
    )


def _get_options(a: Download, offset: int) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if a.version_id:
        opts["version"] = a.version_id
    if offset:
        opts["range"] = {"offset": offset}
        if a.etag:
            opts["if_match"] = f'"{a.etag}"'
    return opts


def _stamp(path: Path, last_modified: datetime | None) -> None:
    """Give the file its object's modification time (see ``_whole``)."""
    if last_modified is not None:
        with contextlib.suppress(OSError, OverflowError, ValueError):
            os.utime(path, (time.time(), last_modified.timestamp()))


def _state_file(state_dir: Path, dest: Path) -> Path:
    key = hashlib.sha256(os.fsencode(os.path.abspath(dest))).hexdigest()[:32]
    return state_dir / "downloads" / f"{key}.json"


def _expect(a: Download) -> dict[str, Any]:
    expect = {"size": a.size, "etag": a.etag, "version_id": a.version_id, "sha256": a.sha256}
    if a.blake3 is not None:
        expect["blake3"] = a.blake3
    return expect


async def _resumable(store: S3Store, a: Download, progress: Progress, state_dir: Path) -> str:
    state = _state_file(state_dir, a.dest)
    state.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        # Another process is on it: fetch privately instead of sharing its partial file.
        return await _whole(store, a, progress)
    try:
        return await _resume_locked(store, a, progress, state)
    finally:
        lock.release()


def _drop(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


async def _resume_locked(store: S3Store, a: Download, progress: Progress, state: Path) -> str:
    a.dest.parent.mkdir(parents=True, exist_ok=True)
    partial = a.dest.with_name(f".{a.dest.name}.resume{TMP_SUFFIX}")
    expect = _expect(a)
    offset = 0
    try:
        recorded = json.loads(state.read_text())
    except (OSError, ValueError):
        recorded = None
    if recorded == expect and partial.exists() and partial.stat().st_size <= a.size:
        offset = partial.stat().st_size
    else:
        _drop(partial)
        state.write_text(json.dumps(expect))
    # BLAKE3 stands in for SHA-256 when the manifest records both (see VerifiedWriter).
    fast = a.blake3 is not None and a.sha256 is not None
    sha: Any = _blake3.blake3() if fast else hashlib.sha256()
    md5_expected = _check_md5(a)
    md5 = hashlib.md5(usedforsecurity=False) if md5_expected else None
    if offset:
        # The kept bytes are hashed again (one read) rather than trusting a hash state on disk.
        with open(partial, "rb") as f:
            while buf := f.read(CHUNK):
                sha.update(buf)
                if md5 is not None:
                    md5.update(buf)
        progress(offset)
    what = store.describe(a.path)
    try:
        if offset < a.size:
            try:
                res = await obstore.get_async(
                    store.obs,
                    store.key(a.path),
                    options=_get_options(a, offset),  # type: ignore[arg-type]
                )
            except Exception as exc:
                err = store._err(exc, a.path)
                if offset and isinstance(err, ConflictError):
                    # The object changed since the partial was written: start over.
                    _drop(partial)
                    state.write_text(json.dumps(expect))
                    return await _resume_locked(store, a, progress, state)
                raise err from exc
            with open(partial, "ab") as f:
                async for chunk in res.stream(min_chunk_size=CHUNK):
                    f.write(chunk)
                    sha.update(chunk)
                    if md5 is not None:
                        md5.update(chunk)
                    progress(len(chunk))
                f.flush()
                if flush_each_file():
                    os.fsync(f.fileno())
        size = partial.stat().st_size
        digest = sha.hexdigest()
        if size != a.size:
            msg = f"{what}: size {size} does not match the expected {a.size}"
            raise IntegrityError(msg)
        if fast:
            check_digest(what, "blake3", digest, hex_of(a.blake3, "blake3"))  # type: ignore[arg-type]
            digest = hex_of(a.sha256)  # type: ignore[arg-type]
        elif a.sha256:
            check_digest(what, "sha256", digest, hex_of(a.sha256))
        if md5 is not None and md5.hexdigest() != md5_expected:
            msg = f"{what}: MD5 does not match the server's ETag {md5_expected}"
            raise IntegrityError(msg)
        if offset < a.size:
            _stamp(partial, res.meta.get("last_modified"))
        os.replace(partial, a.dest)
        _drop(state)
        return format_sha256(digest)
    except IntegrityError:
        _drop(partial, state)
        raise
    except BrainbucketError:
        raise  # keep the partial: a re-run continues from here
    except Exception as exc:
        raise store._err(exc, a.path) from exc
