"""``Mirror``: local paths for remote files, fetched on request, verified, shared safely."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import filelock

from .._config import Config
from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    ConflictError,
    IntegrityError,
    ObjectNotFoundError,
    OfflineError,
    PartialFailureError,
    UsageError,
)
from .._hashing import VerifiedWriter, plain_md5
from .._progress import Callbacks
from .._types import Expected
from .._url import parse_url
from ..bids._index import FileRow
from ..bids._listing import remote_file_of, remote_files
from ..bids._query import Query
from ..bids._study import Study
from ..store import S3Settings, Store, open_store
from ._cache import (
    CacheLayout,
    GcReport,
    MirrorStatus,
    Record,
    gc,
    mirror_slug,
    selected_keys,
    status_of,
)
from ._parts import FileKey, OfflineStore, VerifyReport
from ._snapshot import cache_key

__all__ = ["Mirror"]

_TOUCH_EVERY_NS = 60 * 1_000_000_000
_ATTEMPTS = 3


class Mirror:
    """A lazy local copy of a remote study: ask for files, get verified local paths.

    Files are fetched only when asked for and missing (or changed remotely), through a private
    temporary file that is verified — sha256 from the manifest when there is one, else size
    and the ETag's MD5 — and then renamed into place. Several processes may share one cache:
    a per-file lock saves duplicate downloads, and correctness never rests on it.

    Parameters
    ----------
    url
        ``s3://bucket/prefix`` or a local folder.
    cache_dir
        Cache root; default ``Config().cache_dir`` (platformdirs' user cache, or
        ``BRAINBUCKET_CACHE``).
    offline
        Answer from the cache only, without any request; default ``BRAINBUCKET_OFFLINE``.
    profile, anon, endpoint_url, settings
        How to reach the server, as for :func:`brainbucket.open_store`.
    jobs
        Files fetched at once by :meth:`files`.
    callbacks
        Progress subscriber (:class:`~brainbucket.Callbacks`) told about each download by
        the file's key (relative to the study root; a :class:`FileKey`, a ``str`` that also
        carries the file's ``size``): ``on_queued`` for every file a call will fetch,
        before the first starts, ``on_progress`` as bytes arrive, ``on_done`` once it is
        verified in place (or failed). Files already in the cache are not reported, nor
        further is one another process fetched meanwhile. Called from the fetching threads
        (``on_queued``: from the calling one).
    lock_timeout
        Seconds to wait for another process fetching the same file before fetching it anyway.
    config
        The ``BRAINBUCKET_*`` settings the defaults above come from (and whether each fetched
        file is flushed to disk, ``fsync``); default: read from the environment, once.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket._demo import build_demo_study
    >>> study = build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "study", subjects=2)
    >>> m = Mirror(study, cache_dir=tempfile.mkdtemp())
    >>> [p.name for p in m.files(subject="01", datatype="dwi", pipeline="raw")]
    ['sub-01_ses-01_dwi.bval', 'sub-01_ses-01_dwi.bvec', 'sub-01_ses-01_dwi.json', 'sub-01_ses-01_dwi.nii.gz']
    >>> m.path("participants.tsv").read_text().splitlines()[0]
    'participant_id\\tage\\tsex'
    """

    def __init__(
        self,
        url: Any,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        offline: bool | None = None,
        profile: str | None = None,
        anon: bool = False,
        endpoint_url: str | None = None,
        settings: S3Settings | None = None,
        jobs: int | None = None,
        callbacks: Callbacks[str] | None = None,
        lock_timeout: float = 900.0,
        config: Config | None = None,
    ) -> None:
        cfg = config or Config()
        parsed = parse_url(url)
        self.url = str(parsed)
        self.offline = cfg.offline if offline is None else offline
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cfg.cache_dir
        if settings is None:
            settings = S3Settings.from_options(
                profile=profile, anon=anon, endpoint_url=endpoint_url
            )
        # Opening sends nothing: the store only works out which server it would ask.
        self._remote = open_store(self.url, settings=settings)
        # The same bucket name on two servers is two studies: the endpoint names the cache
        # (AWS's own endpoints as none, so caches made before they were named stay valid).
        endpoint = self._remote.endpoint
        self.endpoint = None if endpoint is None or "amazonaws.com" in endpoint else endpoint
        self._pinned = parsed.ref != ""  # a snapshot cannot change: its listing is never re-read
        key = cache_key(self._remote, parsed, self.endpoint, self.cache_dir, offline=self.offline)
        self.layout = CacheLayout(self.cache_dir / "mirror" / mirror_slug(key, self.endpoint))
        self.jobs = max(1, min(jobs or cfg.jobs, 32))
        self._durable = cfg.fsync
        self._manifest_cache = cfg.manifest_dir
        self.callbacks: Callbacks[str] = callbacks or Callbacks()
        self.lock_timeout = lock_timeout
        self._study: Study | None = None
        # key → (path, remote identity, (inode, size, mtime_ns)) of files verified here
        self._seen: dict[str, tuple[Path, FileRow, tuple[int, int, int]]] = {}

    def __repr__(self) -> str:
        return f"Mirror({self.url!r}, root={str(self.layout.root)!r}, offline={self.offline})"

    @property
    def root(self) -> Path:
        """Folder holding this mirror's data (``files/``) and bookkeeping."""
        return self.layout.root

    @property
    def store(self) -> Store:
        if self.offline:
            msg = f"offline: not contacting {self.url}"
            raise OfflineError(msg)
        return self._remote

    # -- the remote file list --------------------------------------------------------------

    @property
    def study(self) -> Study:
        """The remote study as last seen: listed (or read from its manifest) on first use
        online and saved in the cache; offline, the saved list."""
        if self._study is None:
            saved = self.layout.load_listing() if self.offline or self._pinned else None
            if saved is not None:
                there = OfflineStore(self.url) if self.offline else self._remote
                self._study = Study.from_files(there, *saved)
            elif self.offline:
                msg = f"offline, and {self.url} was never listed into {self.layout.root}"
                raise OfflineError(
                    msg, hint="run once without --offline or BRAINBUCKET_OFFLINE to record it"
                )
            else:
                store = self.store
                remote, source = remote_files(store, manifest_cache=self._manifest_cache)
                self.layout.write_source(self.url, self.endpoint)
                self.layout.save_listing(remote, source)
                self._study = Study.from_files(store, remote, source)
        return self._study

    def refresh(self) -> None:
        """Read the remote file list again on next use (to see files changed since)."""
        self._study = None

    # -- asking for files ------------------------------------------------------------------

    def files(self, *args: Any, **filters: Any) -> list[Path]:
        """Local paths of the files matching the filters (as :meth:`Study.files`), fetching
        the missing ones.

        Raises
        ------
        OfflineError
            Offline, and some of the files are not in the cache; the message names them.
        PartialFailureError
            Some files could not be fetched; the others are in place.
        """
        wanted = self._study_for(args, filters).files(*args, **filters)
        return self._ensure([_remote_of(f) for f in wanted])

    def _study_for(self, args: tuple[Any, ...], filters: dict[str, Any]) -> Study:
        """The study, or for a query that names subjects before the whole study was read,
        only those subjects' part of it: read from their manifest shards alone (kept for
        this query only, so a later one about others reads what it needs)."""
        if self._study is None and not self.offline and not self._saved_snapshot():
            from ..bids._query import Query
            from ._shards import subject_rows

            subjects = Query.of(*args, **filters).subject
            if subjects:
                rows = subject_rows(self.store, subjects, self._manifest_cache)
                if rows is not None:
                    return Study.from_files(self.store, rows, "manifest")
        return self.study

    def _saved_snapshot(self) -> bool:
        return self._pinned and self.layout.listing.exists()

    def fetch(self, selection: Any) -> list[Path]:
        """Local paths of every file of a :class:`~brainbucket.bids.Selection` (requested
        files plus dataset-level ones), fetching the missing ones.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from brainbucket._demo import build_demo_study
        >>> from brainbucket.bids import selector
        >>> m = Mirror(build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s"), cache_dir=tempfile.mkdtemp())
        >>> paths = m.fetch(selector(m.study, subject="01", datatype="anat", pipeline="raw"))
        >>> sorted(p.name for p in paths)[:3]
        ['README', 'dataset_description.json', 'participants.tsv']
        """
        return self._ensure([_remote_of(f) for f in selection.files])

    def path(self, key: str) -> Path:
        """Local path of one file (relative to the study root), fetched if missing or stale.

        Without a file list loaded yet, one HEAD request says what the current remote file is.

        Raises
        ------
        ObjectNotFoundError
            No such file remotely (or, offline, in the saved list).
        OfflineError
            Offline, and the file is not in the cache.
        """
        key = key.strip("/")
        remote: FileRow | None = None
        if self.offline and self._study is None and self.layout.load_listing() is None:
            return self._offline_by_record(key)
        if self._study is not None or self.offline or self._pinned:
            f = self.study.index.by_path.get(key)
            if f is None:
                msg = f"no file {key!r} in {self.url}"
                raise ObjectNotFoundError(msg, hint="list the study with `brainbucket study URL`")
            remote = _remote_of(f)
        else:
            remote = remote_file_of(self.store.info(key))
        return self._ensure([remote])[0]

    def _offline_by_record(self, key: str) -> Path:
        """Offline without a saved file list (files fetched one by one with :meth:`path`):
        a file is served if its record says it is the verified file on disk."""
        path = self.layout.data_path(key)
        record = self.layout.read_record(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            st = None
        if record is None or st is None or not record.describes(st):
            msg = f"offline: 1 file(s) not in the cache: {key}"
            err = OfflineError(msg)
            err.missing = [key]  # type: ignore[attr-defined]
            raise err
        self._touch(path, st)
        return path

    def _ensure(self, wanted: list[FileRow]) -> list[Path]:
        paths: list[Path | None] = [None] * len(wanted)
        missing: list[int] = []
        for i, r in enumerate(wanted):
            p = self._cached(r)
            if p is None:
                missing.append(i)
            else:
                paths[i] = p
        if missing and self.offline:
            names = [wanted[i][0] for i in missing]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            msg = f"offline: {len(names)} file(s) not in the cache: {shown}"
            err = OfflineError(msg)
            err.missing = names  # type: ignore[attr-defined]
            raise err
        if missing:
            self._prepare_cache()
            todo = [wanted[i] for i in missing]
            # All at once, before any starts: a subscriber knows the whole job's size at once
            # (a progress bar's time left), not as each fetching thread gets to its file.
            for r in todo:
                self.callbacks.on_queued(FileKey(r[0], r[1]))
            results = self._fetch_all(todo)
            for i, p in zip(missing, results, strict=True):
                paths[i] = p
        return [p for p in paths if p is not None]

    def _prepare_cache(self) -> None:
        """Make the cache folders, with a clear error if the cache cannot be written."""
        try:
            for folder in (self.layout.files, self.layout.records, self.layout.locks):
                folder.mkdir(parents=True, exist_ok=True)
            self.layout.write_source(self.url, self.endpoint)
        except OSError as exc:
            msg = f"cannot write to the mirror cache {self.layout.root}: {exc.strerror or exc}"
            raise AccessDeniedError(
                msg, hint="point BRAINBUCKET_CACHE (or --cache-dir) at a writable folder"
            ) from exc

    def _cached(self, remote: FileRow) -> Path | None:
        """The local path if a verified copy of exactly ``remote`` is there, else None."""
        key = remote[0]
        hit = self._seen.get(key)
        if hit is not None and hit[1] == remote:
            # Checked before in this process: the same inode, size and mtime is still the
            # same verified file (a replaced or rewritten file changes at least one of them).
            path, _, ident = hit
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            if st is not None and (st.st_ino, st.st_size, st.st_mtime_ns) == ident:
                self._touch(path, st)
                return path
        path = self.layout.data_path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        record = self.layout.read_record(key)
        if record is None or not record.describes(st) or not record.matches(remote):
            return None
        self._seen[key] = (path, remote, (st.st_ino, st.st_size, st.st_mtime_ns))
        self._touch(path, st)
        return path

    @staticmethod
    def _touch(path: Path, st: os.stat_result) -> None:
        """Mark a file used, for least-recently-used eviction (a minute's precision is enough
        and saves a write per lookup); the mtime the record holds is kept."""
        now = _now_ns()
        if now - st.st_atime_ns < _TOUCH_EVERY_NS:
            return
        try:
            os.utime(path, ns=(now, st.st_mtime_ns))
        except OSError:
            pass  # a read-only shared cache is fine; it just cannot be evicted by age

    def _fetch_all(self, todo: list[FileRow]) -> list[Path]:
        if len(todo) == 1:
            return [self._fetch(todo[0])]
        results: list[Path | BaseException] = []
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(todo))) as pool:
            futures = [pool.submit(self._fetch, r) for r in todo]
            for fut in futures:
                try:
                    results.append(fut.result())
                except BrainbucketError as exc:
                    results.append(exc)
        failures = [
            (r[0], str(e))
            for r, e in zip(todo, results, strict=True)
            if isinstance(e, BaseException)
        ]
        if failures:
            first = failures[0]
            msg = f"{len(failures)} of {len(todo)} files could not be fetched (first: {first[0]}: {first[1]})"
            raise PartialFailureError(msg, failures=failures)
        return [p for p in results if isinstance(p, Path)]

    def _fetch(self, remote: FileRow) -> Path:
        key = FileKey(remote[0], remote[1])
        lock_path = self.layout.lock_path(key)
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock: filelock.BaseFileLock | None = filelock.FileLock(lock_path, timeout=self.lock_timeout)
        try:
            lock.acquire()  # type: ignore[union-attr]
        except (filelock.Timeout, OSError):
            lock = None  # no lock (stuck peer, or a filesystem without locks): fetch anyway
        try:
            for _ in range(_ATTEMPTS):
                cached = self._cached(remote)  # another process may have fetched it meanwhile
                if cached is not None:
                    return cached
                try:
                    done = self._download(remote, key)
                except BrainbucketError as exc:
                    self.callbacks.on_done(key, exc)
                    raise
                # Reported even when another writer's copy replaced ours: this download
                # ended, verified; a new attempt below is reported as one of its own.
                self.callbacks.on_done(key, None)
                if done is not None:
                    return done
                # Another writer's rename replaced ours (no lock held): look again.
        finally:
            if lock is not None:
                lock.release()
        msg = f"{self.url.rstrip('/')}/{key}: other processes kept replacing the file while it was fetched"
        raise ConflictError(
            msg, hint="re-run; if this repeats, the cache's filesystem may not support locks"
        )

    def _download(self, remote: FileRow, item: FileKey) -> Path | None:
        """Fetch one file into place and record it; ``None`` if, once renamed, the file at the
        destination turned out to be another writer's (its record is that writer's to make)."""
        key, size, etag, version_id, sha256 = remote
        dest = self.layout.data_path(key)
        etag_md5 = plain_md5(etag)
        md5 = hashlib.md5(usedforsecurity=False) if etag_md5 is not None else None
        what = f"{self.url.rstrip('/')}/{key}"
        expected = Expected(size=size, sha256=sha256)
        with VerifiedWriter(dest, expected, what=what, durable=self._durable) as w:
            # A rename keeps the inode: it tells our file from one another process put there.
            ours = os.stat(w.tmp).st_ino
            for chunk in self.store.iter_bytes(key, version_id=version_id):
                w.write(chunk)
                if md5 is not None:
                    md5.update(chunk)
                self.callbacks.on_progress(item, len(chunk))
            if md5 is not None and (got := md5.hexdigest()) != etag_md5:
                w.abort()
                msg = f"{what}: MD5 {got[:12]}… does not match the ETag {etag_md5[:12]}…"  # type: ignore[index]
                raise IntegrityError(msg)
            digest = w.commit()
        try:
            st = dest.stat()
        except FileNotFoundError:
            return None  # evicted at once by a concurrent gc
        if st.st_ino != ours:
            return None
        self.layout.write_record(
            Record(key, st.st_size, digest, etag, version_id, sha256, st.st_ino, st.st_mtime_ns)
        )
        return dest

    # -- maintenance -----------------------------------------------------------------------

    def _selected(self, args: tuple[Any, ...], filters: dict[str, Any]) -> frozenset[str] | None:
        """The keys the filters select (``None``: no filter, every key), without the network."""
        if not args and all(v is None for v in filters.values()):
            return None
        return selected_keys(self.layout, Query.of(*args, **filters))

    def status(self, *args: Any, **filters: Any) -> MirrorStatus:
        """How many files and bytes this mirror holds; with filters (as :meth:`files` takes
        them), of the files they select. Never contacts the server; a ``NotFoundError`` if the
        cache holds no mirror of this study."""
        layout = self.layout.existing(self.url, self.cache_dir)
        return status_of(layout, self._selected(args, filters))

    def verify(self, *args: Any, **filters: Any) -> VerifyReport:
        """Re-hash every cached file against its record; remove those that do not match.

        With filters (as :meth:`files` takes them), only the cached files they select. Never
        contacts the server; a ``NotFoundError`` if the cache holds no mirror of this study.
        """
        from .._hashing import sha256_file

        layout = self.layout.existing(self.url, self.cache_dir)
        keep = self._selected(args, filters)
        checked = 0
        damaged: list[str] = []
        for key, path, st in layout.cached_files():
            if keep is not None and key not in keep:
                continue
            checked += 1
            record = self.layout.read_record(key)
            if record is None or record.size != st.st_size or sha256_file(path) != record.sha256:
                damaged.append(key)
                self.layout.drop(key)
        return VerifyReport(checked, damaged)

    def gc(self, max_size: int) -> GcReport:
        """Evict this mirror's least recently used files until it holds at most ``max_size``."""
        if max_size < 0:
            msg = "max_size must be zero or more bytes"
            raise UsageError(msg)
        return gc(
            self.cache_dir, max_size, roots=[self.layout.existing(self.url, self.cache_dir).root]
        )


def _remote_of(f: Any) -> FileRow:
    return (f.path, f.size, f.etag, f.version_id, f.sha256)


def _now_ns() -> int:
    import time

    return time.time_ns()
