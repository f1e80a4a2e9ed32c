"""Large downloads kept across runs: ranged reads into a partial file beside the target.

A resumable download keeps its partial data in ``.<name>.resume.bbpart`` beside the target
and what it expects (size, ETag, version, sha256) in the state folder. A later run continues
with a ranged read only while the object still has that ETag; the finished file is verified
whole before it is renamed into place, so a partial that went stale can never slip through.
Route ``RESUME`` of the download router (``_route``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3 as _blake3
from filelock import FileLock, Timeout

from .._exceptions import BrainbucketError, ConflictError, IntegrityError
from .._hashing import CHUNK, TMP_SUFFIX, check_digest, flush_each_file, format_sha256, hex_of
from .._types import Expected, ProgressCallback

if TYPE_CHECKING:
    from ._s3_read import S3Reads

__all__ = ["resume_download"]


def _stamp(path: Path, last_modified: datetime | None) -> None:
    """Give the file its object's modification time, as every other route does."""
    if last_modified is not None:
        with contextlib.suppress(OSError, OverflowError, ValueError):
            os.utime(path, (time.time(), last_modified.timestamp()))


def _state_file(state_dir: Path, dest: Path) -> Path:
    key = hashlib.sha256(os.fsencode(os.path.abspath(dest))).hexdigest()[:32]
    return state_dir / "downloads" / f"{key}.json"


def _recorded(e: Expected) -> dict[str, Any]:
    expect = {"size": e.size, "etag": e.etag, "version_id": e.version_id, "sha256": e.sha256}
    if e.blake3 is not None:
        expect["blake3"] = e.blake3
    return expect


def _drop(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


async def resume_download(
    store: S3Reads,
    path: str,
    dest: Path,
    expected: Expected,
    progress: ProgressCallback | None,
    state_dir: Path,
    *,
    durable: bool | None = None,
) -> str:
    """Fetch ``path`` to ``dest`` resumably; returns the ``sha256:`` digest of what landed.

    ``durable``: ``fsync`` the file before its rename (``None``: ``BRAINBUCKET_FSYNC``).
    """
    if durable is None:
        durable = flush_each_file()
    state = _state_file(state_dir, dest)
    state.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        # Another process is on it: fetch privately instead of sharing its partial file.
        return await store.adownload(
            path, dest, expected, keep_mtime=True, progress=progress, durable=durable
        )
    try:
        return await _resume_locked(
            store, path, dest, expected, progress or _ignore, state, durable
        )
    finally:
        lock.release()


def _ignore(nbytes: int) -> None:
    del nbytes


async def _resume_locked(
    store: S3Reads,
    path: str,
    dest: Path,
    expected: Expected,
    progress: ProgressCallback,
    state: Path,
    durable: bool,
) -> str:
    assert expected.size is not None, "route RESUME needs the size"
    size_wanted = expected.size
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.resume{TMP_SUFFIX}")
    expect = _recorded(expected)
    offset = 0
    try:
        recorded = json.loads(state.read_text())
    except (OSError, ValueError):
        recorded = None
    if recorded == expect and partial.exists() and partial.stat().st_size <= size_wanted:
        offset = partial.stat().st_size
    else:
        _drop(partial)
        state.write_text(json.dumps(expect))
    # BLAKE3 stands in for SHA-256 when the manifest records both (see VerifiedWriter).
    fast = expected.blake3 is not None and expected.sha256 is not None
    sha: Any = _blake3.blake3() if fast else hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if expected.md5 else None
    if offset:
        # The kept bytes are hashed again (one read) rather than trusting a hash state on disk.
        with open(partial, "rb") as f:
            while buf := f.read(CHUNK):
                sha.update(buf)
                if md5 is not None:
                    md5.update(buf)
        progress(offset)
    what = store.describe(path)
    try:
        if offset < size_wanted:
            try:
                res = await store._aget(
                    path,
                    version_id=expected.version_id,
                    offset=offset,
                    if_match=expected.etag if offset else None,
                )
            except ConflictError:
                if not offset:
                    raise
                # The object changed since the partial was written: start over.
                _drop(partial)
                state.write_text(json.dumps(expect))
                return await _resume_locked(store, path, dest, expected, progress, state, durable)
            with open(partial, "ab") as f:
                async for chunk in res.stream(min_chunk_size=CHUNK):
                    f.write(chunk)
                    sha.update(chunk)
                    if md5 is not None:
                        md5.update(chunk)
                    progress(len(chunk))
                f.flush()
                if durable:
                    os.fsync(f.fileno())
        got = partial.stat().st_size
        digest = sha.hexdigest()
        if got != size_wanted:
            msg = f"{what}: size {got} does not match the expected {size_wanted}"
            raise IntegrityError(msg)
        if fast:
            check_digest(what, "blake3", digest, hex_of(expected.blake3, "blake3"))  # type: ignore[arg-type]
            digest = hex_of(expected.sha256)  # type: ignore[arg-type]
        elif expected.sha256:
            check_digest(what, "sha256", digest, hex_of(expected.sha256))
        if md5 is not None and md5.hexdigest() != expected.md5:
            msg = f"{what}: MD5 does not match the server's ETag {expected.md5}"
            raise IntegrityError(msg)
        if offset < size_wanted:
            _stamp(partial, res.meta.get("last_modified"))
        os.replace(partial, dest)
        _drop(state)
        return format_sha256(digest)
    except IntegrityError:
        _drop(partial, state)
        raise
    except BrainbucketError:
        raise  # keep the partial: a re-run continues from here
    except Exception as exc:
        raise store._err(exc, path) from exc
