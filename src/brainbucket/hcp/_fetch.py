"""Fetch selected HCP files into a BIDS derivatives tree: plan, then download verified.

Downloads run on the sync executor: each file streams into a private temporary file beside
its target while its MD5 (checked against the single-part ETag) and sha256 (kept in the
record) are computed; only a file whose size and MD5 match is renamed into place, and large
files resume by byte range. Re-running skips what the record (or, without one, a local MD5
equal to the ETag) shows is already there, so an interrupted fetch resumes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import BrainbucketError, PartialFailureError, UsageError
from .._hashing import plain_md5
from .._paths import local_path_for
from .._progress import Callbacks
from ..sync import Action, Download, execute
from ._layout import DEFAULT_KINDS
from ._record import (
    Record,
    check_pipeline,
    file_digests,
    write_descriptions,
    write_sidecars,
)
from ._select import HCP, HCPFile, Selection

__all__ = ["FetchPlan", "FetchResult", "execute_fetch", "plan_fetch"]


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
            "downloads": [
                {"key": f.key, "path": str(p), "size": f.size} for f, p in self.downloads
            ],
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


def _record_entry(f: HCPFile, path: Path, md5: str | None, sha256: str) -> dict[str, Any]:
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
    for folder in (root, root / "derivatives", derivative):
        if folder.exists() and not folder.is_dir():
            msg = f"{folder} exists and is not a folder"
            raise UsageError(msg, hint="pass --to a new or existing folder (the BIDS dataset root)")
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
        etag_md5 = plain_md5(f.etag)
        if etag_md5 is not None and path.is_file() and path.stat().st_size == f.size:
            md5, sha = file_digests(path)
            if md5 == etag_md5:
                plan.up_to_date.append((f, path))
                plan.adopted[f.target] = _record_entry(f, path, md5, sha)
                continue
        plan.downloads.append((f, path))
    return plan


class _Subscriber(Callbacks[Action]):
    """Tell the caller's subscriber about HCP files (not the executor's actions), and
    remember what finished."""

    def __init__(self, files: dict[Path, HCPFile], callbacks: Callbacks[HCPFile]) -> None:
        self.files = files
        self.callbacks = callbacks
        self.finished: list[Download] = []

    def on_queued(self, action: Action) -> None:
        if isinstance(action, Download):
            self.callbacks.on_queued(self.files[action.dest])

    def on_progress(self, action: Action, nbytes: int) -> None:
        if isinstance(action, Download):
            self.callbacks.on_progress(self.files[action.dest], nbytes)

    def on_done(self, action: Action, error: BrainbucketError | None) -> None:
        if not isinstance(action, Download):
            return
        if error is None:
            self.finished.append(action)
        self.callbacks.on_done(self.files[action.dest], error)


def execute_fetch(
    plan: FetchPlan,
    *,
    jobs: int | None = None,
    callbacks: Callbacks[HCPFile] | None = None,
    config: Config | None = None,
) -> FetchResult:
    """Download what the plan lists, ``jobs`` at a time, and update the record.

    Parameters
    ----------
    plan
        From :func:`plan_fetch`.
    jobs
        Transfers in flight (default ``BRAINBUCKET_JOBS``, 64).
    callbacks
        Progress subscriber (:class:`~brainbucket.Callbacks`) told about each
        :class:`HCPFile` downloaded: bytes as they arrive, the file once it is verified and
        in place (at ``result.derivative / file.target``) or failed.
    config
        The ``BRAINBUCKET_*`` settings (jobs, resumable-transfer state, ``fsync`` of each
        file); default: read from the environment, once.

    Raises
    ------
    PartialFailureError
        If some files failed (the others are kept and recorded); the error of the first
        failure is raised as is when every file failed the same way.
    """
    config = config or Config()
    hcp = plan.hcp
    record = Record.load(plan.derivative, bucket=hcp.bucket, release=hcp.release)
    record.files.update(plan.adopted)
    write_descriptions(plan.root, plan.derivative, bucket=hcp.bucket, release=hcp.release)
    result = FetchResult(plan)
    by_dest = {path: f for f, path in plan.downloads}
    actions = [
        Download(f.key, path, f.size, etag=f.etag, reason="new" if not path.exists() else "changed")
        for f, path in plan.downloads
    ]
    subscriber = _Subscriber(by_dest, callbacks or Callbacks())
    failed: list[tuple[Download, BrainbucketError]] = []
    recorded: set[str] = set()
    try:
        with hcp._access():
            run = execute(
                actions,
                hcp.store,
                jobs=jobs or config.jobs,
                callbacks=subscriber,
                state_dir=config.state_dir,
                durable=config.fsync,
            )
            for action, digest in run.done:
                if not isinstance(action, Download) or not isinstance(digest, str):
                    continue
                f = by_dest[action.dest]
                # The executor compared the bytes with a plain-MD5 ETag; a multipart one is no MD5.
                md5 = plain_md5(f.etag)
                record.files[f.target] = _record_entry(f, action.dest, md5, digest)
                recorded.add(f.target)
                result.downloaded.append((f, action.dest))
                result.bytes += f.size
            failed = [(a, e) for a, e in run.failed if isinstance(a, Download)]
            if failed and len(failed) == len(actions) and len({type(e) for _, e in failed}) == 1:
                raise failed[0][1]
    finally:
        # Whatever was verified stays recorded, so a re-run resumes after it (after an
        # interruption, files finished so far are hashed here: the executor's digests are lost).
        for action in subscriber.finished:
            f = by_dest[action.dest]
            if f.target not in recorded:
                md5, sha = file_digests(action.dest)
                record.files[f.target] = _record_entry(f, action.dest, md5, sha)
        record.save(plan.derivative)
        write_sidecars(
            plan.derivative,
            [(f.target, f.key) for f in plan.selection.files if f.target in record.files],
        )
    if failed:
        a0, e0 = failed[0]
        msg = f"{len(failed)} of {len(actions)} files failed (first: {a0.path}: {e0})"
        raise PartialFailureError(
            msg,
            failures=[(a.path, str(e)) for a, e in failed],
            hint="re-run the same command to retry the failed files only",
        )
    return result
