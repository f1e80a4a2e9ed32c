"""Fetch selected HCP files into a BIDS derivatives tree: plan, then download verified.

Every file streams into a private temporary file beside its target while its MD5 (checked
against the single-part ETag) and sha256 (kept in the record) are computed; only a file whose
size and MD5 match is renamed into place. Re-running skips what the record (or, without one,
a local MD5 equal to the ETag) shows is already there, so an interrupted fetch resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import obstore

from .._config import get_config
from .._exceptions import BrainbucketError, IntegrityError, PartialFailureError
from .._hashing import CHUNK, VerifiedWriter
from .._paths import local_path_for
from ..store._errors import translate
from ._layout import DEFAULT_KINDS
from ._record import Record, check_pipeline, file_digests, is_plain_md5, write_descriptions
from ._select import HCP, HCPFile, Selection

__all__ = ["FetchPlan", "FetchResult", "execute_fetch", "plan_fetch"]

T = TypeVar("T")


@dataclass
class FetchPlan:
    """What a fetch will do; :func:`execute_fetch` carries it out.

    Attributes
    ----------
    selection
        The files selected, and the subjects skipped or with missing data.
    root
        The BIDS dataset root (``--to``).
    derivative
        ``root/derivatives/<pipeline>``.
    downloads
        Files to download, with their local paths.
    up_to_date
        Files already present and verified, with their local paths.
    adopted
        Record entries for files found complete without a record entry (written on execute).
    """

    hcp: HCP
    selection: Selection
    root: Path
    derivative: Path
    downloads: list[tuple[HCPFile, Path]] = field(default_factory=list)
    up_to_date: list[tuple[HCPFile, Path]] = field(default_factory=list)
    adopted: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def download_size(self) -> int:
        return sum(f.size for f, _ in self.downloads)

    @property
    def total_size(self) -> int:
        return self.selection.total_size

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.selection.to_dict(),
            "root": str(self.root),
            "derivative": str(self.derivative),
            "download_size": self.download_size,
            "downloads": [{"key": f.key, "path": str(p), "size": f.size} for f, p in self.downloads],
            "up_to_date": [{"key": f.key, "path": str(p)} for f, p in self.up_to_date],
        }


@dataclass
class FetchResult:
    """What a fetch did.

    Attributes
    ----------
    plan
        The plan it carried out.
    downloaded
        Files downloaded and verified this time.
    bytes
        Bytes downloaded.
    """

    plan: FetchPlan
    downloaded: list[tuple[HCPFile, Path]] = field(default_factory=list)
    bytes: int = 0

    @property
    def derivative(self) -> Path:
        return self.plan.derivative

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "downloaded": [{"key": f.key, "path": str(p)} for f, p in self.downloaded],
            "bytes": self.bytes,
        }


def _record_entry(f: HCPFile, path: Path, md5: str, sha256: str) -> dict[str, Any]:
    st = path.stat()
    return {
        "key": f.key,
        "size": f.size,
        "etag": f.etag,
        "md5": md5,
        "sha256": sha256,
        "mtime_ns": st.st_mtime_ns,
    }


def _up_to_date(f: HCPFile, path: Path, entry: dict[str, Any] | None) -> bool:
    """The record vouches for the file: same object, and the file unchanged since written."""
    if not entry or entry.get("key") != f.key or entry.get("size") != f.size:
        return False
    if entry.get("etag") != f.etag:
        return False
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return st.st_size == f.size and st.st_mtime_ns == entry.get("mtime_ns")


def plan_fetch(
    hcp: HCP,
    subjects: Iterable[str | int],
    dest: str | os.PathLike[str],
    *,
    kinds: Iterable[str] | str = DEFAULT_KINDS,
    pipeline: str = "hcp",
) -> FetchPlan:
    """List the subjects' files and decide which need downloading (nothing is written).

    Examples
    --------
    >>> from brainbucket.hcp import HCP, plan_fetch
    >>> plan = plan_fetch(HCP(profile="hcp"), ["100206"], "./hcp")  # doctest: +SKIP
    >>> plan.download_size  # doctest: +SKIP
    1551623386
    """
    root = Path(os.path.abspath(dest))
    derivative = root / "derivatives" / check_pipeline(pipeline)
    record = Record.load(derivative, bucket=hcp.bucket, release=hcp.release)
    selection = hcp.select(subjects, kinds)
    plan = FetchPlan(hcp, selection, root, derivative)
    for f in selection.files:
        path = local_path_for(derivative, f.target)
        entry = record.files.get(f.target)
        if _up_to_date(f, path, entry):
            plan.up_to_date.append((f, path))
            continue
        # Complete from an earlier run that stopped before writing its record?
        if is_plain_md5(f.etag) and path.is_file() and path.stat().st_size == f.size:
            md5, sha = file_digests(path)
            if md5 == f.etag:
                plan.up_to_date.append((f, path))
                plan.adopted[f.target] = _record_entry(f, path, md5, sha)
                continue
        plan.downloads.append((f, path))
    return plan


async def _download(
    hcp: HCP,
    f: HCPFile,
    path: Path,
    sem: asyncio.Semaphore,
    progress: Callable[[int], None] | None,
) -> dict[str, Any]:
    store = hcp.store
    what = store.describe(f.key)
    async with sem:
        try:
            res = await obstore.get_async(store.obs, f.key)
            md5 = hashlib.md5(usedforsecurity=False)
            with VerifiedWriter(path, expected_size=f.size, what=what) as w:
                async for chunk in res.stream(min_chunk_size=CHUNK):
                    w.write(chunk)
                    md5.update(chunk)
                    if progress is not None:
                        progress(len(chunk))
                if is_plain_md5(f.etag) and md5.hexdigest() != f.etag:
                    msg = f"{what}: MD5 {md5.hexdigest()} does not match the ETag {f.etag}"
                    raise IntegrityError(msg)
                sha = w.commit()
        except BrainbucketError:
            raise
        except Exception as exc:
            raise translate(exc, what, anon=hcp.anon) from exc
    return _record_entry(f, path, md5.hexdigest(), sha)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine whether or not the caller already has an event loop (notebooks do)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def execute_fetch(
    plan: FetchPlan,
    *,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_done: Callable[[HCPFile, Path], None] | None = None,
) -> FetchResult:
    """Download what the plan lists, ``jobs`` at a time, and update the record.

    Parameters
    ----------
    plan
        From :func:`plan_fetch`.
    jobs
        Transfers in flight (default ``BRAINBUCKET_JOBS``, 64).
    progress
        Called with each chunk's byte count.
    on_done
        Called with each file once it is verified and in place.

    Raises
    ------
    PartialFailureError
        If some files failed (the others are kept and recorded); the error of the first
        failure is raised as is when every file failed the same way.
    """
    hcp = plan.hcp
    record = Record.load(plan.derivative, bucket=hcp.bucket, release=hcp.release)
    record.files.update(plan.adopted)
    write_descriptions(plan.root, plan.derivative, bucket=hcp.bucket, release=hcp.release)
    result = FetchResult(plan)
    failures: list[tuple[HCPFile, BaseException]] = []

    async def one(f: HCPFile, path: Path, sem: asyncio.Semaphore) -> None:
        try:
            entry = await _download(hcp, f, path, sem, progress)
        except BrainbucketError as exc:
            failures.append((f, exc))
            return
        record.files[f.target] = entry
        result.downloaded.append((f, path))
        result.bytes += f.size
        if on_done is not None:
            on_done(f, path)

    async def main() -> None:
        sem = asyncio.Semaphore(max(1, jobs or get_config().jobs))
        await asyncio.gather(*(one(f, p, sem) for f, p in plan.downloads))

    try:
        with hcp._access():
            _run(main())
            if failures and len(failures) == len(plan.downloads):
                kinds = {type(e) for _, e in failures}
                if len(kinds) == 1:
                    raise failures[0][1]
    finally:
        # Whatever was verified stays recorded, so a re-run resumes after it.
        record.save(plan.derivative)
    if failures:
        f0, e0 = failures[0]
        msg = f"{len(failures)} of {len(plan.downloads)} files failed (first: {f0.key}: {e0})"
        raise PartialFailureError(
            msg,
            failures=[(f.key, str(e)) for f, e in failures],
            hint="re-run the same command to retry the failed files only",
        )
    return result
