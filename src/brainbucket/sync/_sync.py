"""``sync`` and ``plan``: gather both sides' state, plan purely, execute, record the manifest."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import (
    ConflictError,
    PartialFailureError,
    UnsafeKeyError,
    UsageError,
)
from .._paths import local_path_for
from .._progress import Callbacks
from .._types import PutResult
from ..manifest import Entry, Manifest, read_pointer, write_manifest
from ..store import PART_SIZE, S3Settings, open_store
from ._actions import Action, Delete, DeleteLocal, Download, Upload
from ._execute import MULTIPART_THRESHOLD, ExecuteResult, execute
from ._multipart import abort_stale
from ._plan import Plan, plan_download, plan_upload
from ._state import Side, gather, make_filters

__all__ = ["SyncResult", "plan", "sync"]


@dataclass
class SyncResult:
    """What a sync did (or, with ``dry_run``, would do).

    Attributes
    ----------
    plan
        The plan that was executed.
    transferred, transferred_bytes
        Files (and bytes) uploaded or downloaded.
    deleted
        Files deleted at the destination.
    unchanged
        Files already identical.
    failed
        ``(path, error message)`` for every file that could not be synced or was refused.
    elapsed
        Seconds, end to end.
    manifest_root
        The dataset version (``sha256:`` root) after an upload, when one was written.
    dry_run
        Nothing was changed.
    refusal
        Set by a dry run only: the error a real run of the same plan would stop with before
        changing anything (deleting more than half the destination without ``force``). A
        dry run shows the plan anyway, deletions included.
    warnings
        Things the user should know that did not stop the sync, one line each (the
        command line prints them on stderr): e.g. that the server ignores conditional
        writes, so concurrent writers are caught only after the fact.
    """

    plan: Plan
    transferred: int = 0
    transferred_bytes: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    elapsed: float = 0.0
    manifest_root: str | None = None
    dry_run: bool = False
    refusal: UsageError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def raise_for_failures(self) -> None:
        """Raise :class:`PartialFailureError` if any file failed or was refused."""
        if self.failed:
            path, err = self.failed[0]
            msg = f"{len(self.failed)} file(s) could not be synced; first: {path}: {err}"
            raise PartialFailureError(
                msg,
                failures=list(self.failed),
                hint="everything else was synced; fix these and re-run (only they will move)",
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.plan.direction,
            "dry_run": self.dry_run,
            "transferred": self.transferred,
            "transferred_bytes": self.transferred_bytes,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "failed": [{"path": p, "error": e} for p, e in self.failed],
            "elapsed": round(self.elapsed, 3),
            "manifest_root": self.manifest_root,
            "refusal": str(self.refusal) if self.refusal is not None else None,
            "warnings": list(self.warnings),
        }


def _settings(profile: str | None, anon: bool, endpoint_url: str | None) -> S3Settings:
    """The settings value of the keyword arguments (built once, at the entry point)."""
    return S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)


def _make_plan(side: Side, delete: bool) -> Plan:
    selected = side.filters if side.filters.active else None
    if side.direction == "upload":
        return plan_upload(
            side.local.files,
            side.remote,
            delete=delete,
            selected=selected,
            errors=side.local.errors,
            same=side.same,
        )
    return plan_download(
        side.remote,
        side.local.files,
        root=side.root,
        delete=delete,
        selected=selected,
        errors=side.local.errors,
        same=side.same,
    )


def plan(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    delete: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    filters: Sequence[tuple[str, str]] | None = None,
    select: Callable[[str], bool] | None = None,
    prefixes: Sequence[str] | str = (),
    follow_symlinks: bool = True,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    config: Config | None = None,
) -> Plan:
    """What ``sync(src, dst)`` would do, changing nothing.

    Reads the destination's (or source's) manifest, walks the local folder and hashes only
    files whose size matches and whose hash is not cached, then plans purely. Takes the same
    arguments as :func:`sync`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> src = pathlib.Path(tempfile.mkdtemp()); _ = (src / "a.txt").write_text("a")
    >>> [a.path for a in plan(src, tempfile.mkdtemp()).actions]
    ['a.txt']
    """
    config = config or Config()
    side = gather(
        src,
        dst,
        filters=make_filters(include, exclude, filters, select, prefixes),
        follow_symlinks=follow_symlinks,
        state_dir=config.state_dir,
        manifest_cache=config.manifest_dir,
        settings=settings or _settings(profile, anon, endpoint_url),
    )
    try:
        return _make_plan(side, delete)
    finally:
        side.cache.close()


def sync(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    delete: bool = False,
    force: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    filters: Sequence[tuple[str, str]] | None = None,
    select: Callable[[str], bool] | None = None,
    prefixes: Sequence[str] | str = (),
    dry_run: bool = False,
    jobs: int | None = None,
    serial: bool = False,
    follow_symlinks: bool = True,
    callbacks: Callbacks[Action] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    check: bool = True,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    config: Config | None = None,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> SyncResult:
    """Make ``dst`` hold what ``src`` holds: only new or changed files move, all verified.

    One side is a local folder, the other an ``s3://`` URL (or another folder). Change is
    decided by size and sha256 (cached locally by size, mtime and inode), never by mtime
    alone. An upload leaves the dataset's manifest in the bucket, moved by conditional write;
    a download reads it in one request (or lists a bucket that has none) and verifies every
    file against it before renaming it into place.

    Parameters
    ----------
    src, dst
        A folder and an ``s3://bucket/prefix`` URL, in the direction of travel.
    delete
        Remove files at the destination the source lacks (only among selected paths).
    force
        Allow ``delete`` to remove more than half of the destination.
    include, exclude
        Glob patterns on dataset paths; excludes apply first, then includes (for an exact
        order, pass ``filters=[("exclude", "*"), ("include", "sub-01/*")]``).
    select
        Predicate on dataset paths; unselected files are neither transferred nor deleted.
    prefixes
        Only paths under these (e.g. ``["sub-01/"]``): like ``select``, and only the manifest
        shards that may hold them are read, so fetching one subject reads one shard.
    dry_run
        Plan only; nothing changes.
    jobs, serial
        Transfers in flight (default ``BRAINBUCKET_JOBS``, 64); ``serial`` runs one at a
        time in path order.
    follow_symlinks
        Follow symlinks (with loop detection); else skip them.
    callbacks
        Progress subscriber (:class:`~brainbucket.Callbacks`), told about each action of
        the plan; called from the thread that runs :func:`sync`.
    on_plan
        Called with the plan before anything runs.
    check
        Raise :class:`PartialFailureError` at the end if any file failed (after recording
        everything that succeeded).
    profile, anon, endpoint_url
        How to reach the bucket, as for :func:`brainbucket.open_store`.
    settings
        All three as one :class:`~brainbucket.S3Settings` value; when given, it is used
        instead of them.
    config
        The ``BRAINBUCKET_*`` settings (cache and state folders, jobs, ``fsync`` of each
        downloaded file); default: read from the environment, once.
    multipart_threshold, part_size
        Files this large go up in resumable parts (and come down resumably).

    Returns
    -------
    SyncResult

    Raises
    ------
    ObjectNotFoundError
        The source folder (or remote dataset) does not exist.
    BucketNotFoundError
        The bucket does not exist (create it with ``brainbucket mb``).
    ConflictError
        Someone else synced into the same dataset meanwhile: re-run.
    UsageError
        ``delete`` would remove more than half the destination and ``force`` is off (a dry
        run returns the plan instead, with :attr:`SyncResult.refusal` set); or the source
        and destination are the same folder, or one holds the other.
    PartialFailureError
        Some files failed (with ``check``); the rest were synced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> src = pathlib.Path(tempfile.mkdtemp()); _ = (src / "a.txt").write_text("a")
    >>> dst = tempfile.mkdtemp()
    >>> sync(src, dst).transferred, sync(src, dst).transferred
    (1, 0)
    """
    t0 = time.perf_counter()
    config = config or Config()
    state_dir = config.state_dir
    side = gather(
        src,
        dst,
        filters=make_filters(include, exclude, filters, select, prefixes),
        follow_symlinks=follow_symlinks,
        state_dir=state_dir,
        manifest_cache=config.manifest_dir,
        settings=settings or _settings(profile, anon, endpoint_url),
    )
    try:
        the_plan = _make_plan(side, delete)
        if on_plan is not None:
            on_plan(the_plan)
        result = SyncResult(the_plan, unchanged=the_plan.unchanged, dry_run=dry_run)
        result.failed.extend(the_plan.errors)
        n_dest = len(side.remote) if side.direction == "upload" else len(side.local.files)
        refusal = None if force else _too_many_deletes(len(the_plan.deletes), n_dest)
        if refusal is not None:
            if not dry_run:
                raise refusal
            result.refusal = refusal
        if dry_run:
            result.elapsed = time.perf_counter() - t0
            return result
        executed = execute(
            the_plan.actions,
            side.store,
            jobs=jobs or config.jobs,
            serial=serial,
            callbacks=callbacks,
            state_dir=state_dir,
            durable=config.fsync,
            multipart_threshold=multipart_threshold,
            part_size=part_size,
        )
        _account(result, executed)
        if side.direction == "upload":
            _finish_upload(side, result, executed, state_dir)
        else:
            _finish_download(side, result, executed)
        _remember_hashes(side, executed)
        clean = not result.failed and not side.filters.active
        final = (
            result.manifest_root
            if side.direction == "upload"
            else (side.manifest.root if side.manifest is not None else None)
        )
        side.cache.set_synced(side.root, final if clean else None)
    finally:
        side.cache.close()
    result.elapsed = time.perf_counter() - t0
    if check:
        result.raise_for_failures()
    return result


def _too_many_deletes(n_del: int, n_dest: int) -> UsageError | None:
    """The guard against a wrong source or filter emptying the destination: more than half
    of it deleted needs ``force``.

    Examples
    --------
    >>> print(_too_many_deletes(3, 4))
    refusing to delete 3 of 4 files at the destination (more than half)
    >>> _too_many_deletes(2, 4) is None
    True
    """
    if not n_del or n_del * 2 <= n_dest:
        return None
    msg = f"refusing to delete {n_del} of {n_dest} files at the destination (more than half)"
    return UsageError(msg, hint="check the source and filters; pass --force if this is meant")


def _account(result: SyncResult, executed: ExecuteResult) -> None:
    for a, _ in executed.done:
        if isinstance(a, Upload | Download):
            result.transferred += 1
            result.transferred_bytes += a.size
        else:
            result.deleted += 1
    result.failed.extend((a.path, str(e)) for a, e in executed.failed)


def _finish_upload(
    side: Side, result: SyncResult, executed: ExecuteResult, state_dir: Path
) -> None:
    manifest = side.manifest
    first = manifest is None
    if manifest is None:
        # First manifest of this dataset: record the files found already identical, too.
        manifest = Manifest()
        for path, f in side.local.files.items():
            r = side.remote.get(path)
            if r is not None and f.sha256 and f.size == r.size:
                manifest.add(Entry(path, f.size, f.sha256, r.version_id, r.etag))
    changed = False
    for a, r in executed.done:
        if isinstance(a, Upload) and isinstance(r, PutResult):
            manifest.add(Entry(a.path, r.size, r.sha256, r.version_id, r.etag, r.blake3))
            changed = True
        elif isinstance(a, Delete):
            with contextlib.suppress(KeyError):
                del manifest[a.path]
            changed = True
    if first or changed:
        if not side.store.capabilities.conditional_writes:
            result.warnings.append(
                f"{side.store.describe()}: this server ignores conditional writes, so two "
                "writers at once are caught only after the fact (the loser exits 7); "
                "sync into a dataset from one place at a time"
            )
        write_manifest(side.store, manifest, expected=None if first else manifest.pointer_etag)
    result.manifest_root = manifest.root
    if side.store.capabilities.multipart and not executed.failed:
        abort_stale(side.store, state_dir)


def _finish_download(side: Side, result: SyncResult, executed: ExecuteResult) -> None:
    if side.manifest is not None and not result.failed:
        _record_local_manifest(side)
    _make_marked_folders(side)
    # Folders emptied by deletes go too, as they would on S3.
    for a, _ in executed.done:
        if isinstance(a, DeleteLocal):
            parent = a.dest.parent
            while parent != side.root and side.root in parent.parents:
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent


def _make_marked_folders(side: Side) -> None:
    """Folder markers (``dir/`` objects) come down as the folders they stand for — even an
    empty one, as the console that made it shows it — never as files."""
    selected = side.filters if side.filters.active else None
    for marker in sorted(side.folders):
        path = marker.rstrip("/")
        if selected is not None and not selected(marker):
            continue
        try:
            folder = local_path_for(side.root, path)
        except UnsafeKeyError:
            continue  # a key that cannot be a local path names no folder to make
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)


def _record_local_manifest(side: Side) -> None:
    """Keep a copy of the (selected part of the) manifest in the folder, so ``verify DIR``
    can re-check it later without the network."""
    assert side.manifest is not None
    local = open_store(side.root)
    pointer = read_pointer(local)
    if not side.filters.active and pointer is not None and pointer[0] == side.manifest.root:
        return
    keep = side.filters if side.filters.active else None
    prefixes = side.filters.prefixes or ("",)
    source = (e for p in prefixes for e in side.manifest.entries(p))
    copy = Manifest(e for e in source if keep is None or keep(e.path))
    if pointer is not None and pointer[0] == copy.root:
        return
    with contextlib.suppress(ConflictError):  # another process recorded it meanwhile
        # A record of what the folder holds: no history, so equal contents give equal roots.
        write_manifest(local, copy, expected=pointer[1] if pointer else None, history=False)


def _remember_hashes(side: Side, executed: ExecuteResult) -> None:
    rows: list[tuple[str, int, int, int, str]] = [
        (f.path, f.size, f.mtime_ns, f.inode, f.sha256) for f in side.hashed if f.sha256
    ]
    gone: list[str] = []
    for a, r in executed.done:
        if isinstance(a, Upload) and isinstance(r, PutResult):
            f = side.local.files.get(a.path)
            with contextlib.suppress(OSError):
                s = os.stat(a.src)
                # Only if the file is still what was read (not rewritten meanwhile).
                if f is not None and (s.st_size, s.st_mtime_ns) == (f.size, f.mtime_ns):
                    rows.append((a.path, s.st_size, s.st_mtime_ns, s.st_ino, r.sha256))
        elif isinstance(a, Download) and isinstance(r, str):
            with contextlib.suppress(OSError):
                s = os.stat(a.dest)
                rows.append((a.path, s.st_size, s.st_mtime_ns, s.st_ino, r))
        elif isinstance(a, DeleteLocal):
            gone.append(a.path)
    side.cache.update(side.root, rows)
    if gone:
        side.cache.forget(side.root, gone)
