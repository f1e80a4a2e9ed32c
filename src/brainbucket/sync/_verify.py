"""``verify``: re-check a dataset (bucket or folder) against its manifest."""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import BrainbucketError, ObjectNotFoundError
from .._hashing import format_sha256
from .._progress import Callbacks
from .._url import parse_url
from ..manifest import Entry, Manifest, read_manifest
from ..store import S3Settings, Store, open_store
from ._local import Filters, hash_files, scan
from ._state import remote_listing

__all__ = ["VerifyReport", "verify"]


@dataclass
class VerifyReport:
    """Differences between a dataset and its manifest.

    Attributes
    ----------
    url
        What was checked.
    checked
        Entries compared.
    missing
        In the manifest, not in the dataset.
    mismatched
        ``(path, why)``: size, ETag or sha256 differ from the manifest.
    untracked
        In the dataset, not in the manifest: objects put there by other means (``cp``, another
        tool) or files added to a downloaded copy. They are not part of the dataset version
        the manifest records, and nothing is wrong with the files it does record, so they do
        not make the report fail (as ``git status`` reports untracked files).
    unverifiable
        ``(path, why)``: the right size, but the server's ETag and the manifest's are of two
        forms that cannot be compared (a multipart ``md5-N`` against a plain MD5: some
        servers give the plain MD5 of a multipart upload's content). Nothing shows them
        damaged, so they do not make the report fail; ``deep`` hashes them.
    superseded
        A newer object sits over the version the manifest names, which is intact (where the
        server keeps versions): readers get the manifest's version, so nothing is damaged.
    """

    url: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str]] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    unverifiable: list[tuple[str, str]] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every file the manifest lists is there, with the recorded size and digests."""
        return not (self.missing or self.mismatched)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ok": self.ok,
            "checked": self.checked,
            "missing": self.missing,
            "mismatched": [{"path": p, "why": w} for p, w in self.mismatched],
            "untracked": self.untracked,
            "unverifiable": [{"path": p, "why": w} for p, w in self.unverifiable],
            "superseded": self.superseded,
        }


_ETAG = re.compile(r"([0-9a-f]{32})(?:-([0-9]+))?\Z")


def etag_form(etag: str) -> str:
    """What an ETag is a digest of: ``md5`` (the content's), ``md5-N`` (of N parts' MD5s),
    or ``opaque`` (encrypted objects, other servers' schemes).

    Two ETags prove two contents differ only when they are of one form: the same bytes
    uploaded in parts and in one piece have different ETags.

    Examples
    --------
    >>> etag_form("5d41402abc4b2a76b9719d911017c592"), etag_form("5d41402abc4b2a76b9719d911017c592-3")
    ('md5', 'md5-3')
    """
    m = _ETAG.match(etag.strip('"').lower())
    if m is None:
        return "opaque"
    return f"md5-{m.group(2)}" if m.group(2) else "md5"


def _compare_etags(manifest_etag: str, server_etag: str) -> tuple[str, str] | None:
    """``("mismatched" | "unverifiable", why)``, or ``None`` when the ETags agree."""
    mine, theirs = etag_form(manifest_etag), etag_form(server_etag)
    if mine == theirs:
        if manifest_etag.strip('"').lower() == server_etag.strip('"').lower():
            return None
        return "mismatched", "changed on the server (ETag differs from the manifest)"
    # The manifest's ETag would be the content's MD5 only in the plain form; the server's
    # plain MD5 cannot be set against part MD5s, nor any against an opaque one.
    return "unverifiable", (
        f"unverifiable by ETag: the server gives {_words(theirs)}, "
        f"the manifest records {_words(mine)}; size matches"
    )


def _words(form: str) -> str:
    if form == "md5":
        return "a plain MD5"
    if form == "opaque":
        return "an opaque ETag"
    return f"a multipart ETag ({form.split('-')[1]} parts)"


def _hash_remote(store: Store, entry: Entry, callbacks: Callbacks[Entry]) -> str:
    # Streamed: memory stays one chunk whatever the size. The version the manifest names is
    # read where the server keeps versions, as every read of a dataset file is.
    version = entry.version_id if store.capabilities.versioning else None
    h = hashlib.sha256()
    try:
        for chunk in store.iter_bytes(entry.path, version_id=version):
            h.update(chunk)
            callbacks.on_progress(entry, len(chunk))
    except BrainbucketError as exc:
        callbacks.on_done(entry, exc)
        raise
    callbacks.on_done(entry, None)
    return format_sha256(h.hexdigest())


def verify(
    url: str | os.PathLike[str],
    *,
    deep: bool = False,
    jobs: int = 16,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    config: Config | None = None,
    callbacks: Callbacks[Any] | None = None,
) -> VerifyReport:
    """Compare a dataset with its manifest: missing, mismatched and untracked files.

    A bucket is checked by listing (size and ETag against the manifest); ``deep`` also
    downloads and hashes every object, streamed, against the manifest's sha256 (the version
    the manifest names, where the server keeps versions). ETags are compared only where both
    are of one form; a file whose server ETag is of another form than the manifest's (a
    multipart upload some servers report by its plain MD5) is
    :attr:`~VerifyReport.unverifiable` without ``deep``, never mismatched. A local folder (one an upload or download sync
    recorded a manifest in) is always checked by hashing every file. The report is
    :attr:`~VerifyReport.ok` when every file the manifest lists is intact; files it does not
    list are reported as :attr:`~VerifyReport.untracked`, not as damage.

    Parameters
    ----------
    url
        ``s3://bucket/prefix``, or a local folder holding a manifest.
    deep
        Also download and hash every object of a bucket.
    jobs
        Shards read and objects hashed at once.
    profile, anon, endpoint_url
        How to reach the bucket, as for :func:`brainbucket.open_store`.
    settings
        All three as one :class:`~brainbucket.S3Settings` value, used instead of them.
    config
        The ``BRAINBUCKET_*`` settings (where manifests are cached); default: read from the
        environment.
    callbacks
        Progress subscriber (:class:`~brainbucket.Callbacks`) told about each file hashed —
        an object with ``path`` and ``size``: the local file, or with ``deep`` the manifest
        entry of the object read back — ``on_queued`` for all of them first, then
        ``on_progress`` as bytes are read and ``on_done`` after each. Called from the hashing
        threads. A bucket checked without ``deep`` hashes nothing and reports nothing.

    Raises
    ------
    ObjectNotFoundError
        If there is no manifest to check against.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket import sync
    >>> src = pathlib.Path(tempfile.mkdtemp()); _ = (src / "a.txt").write_text("a")
    >>> dst = tempfile.mkdtemp(); _ = sync(src, dst)
    >>> verify(dst).ok
    True
    """
    parsed = parse_url(url)
    if settings is None:
        settings = S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)
    store = open_store(parsed, settings=settings)
    manifest = read_manifest(store, cache=(config or Config()).manifest_dir)
    if manifest is None:
        msg = f"{store.describe()}: no manifest to verify against"
        raise ObjectNotFoundError(
            msg, hint="an upload sync (`brainbucket sync DIR s3://...`) records one"
        )
    report = VerifyReport(store.describe())
    manifest.load(jobs=jobs)
    cb = callbacks or Callbacks()
    if parsed.is_s3 and parsed.ref:
        _verify_snapshot(store, manifest, report, deep=deep, jobs=jobs, callbacks=cb)
    elif parsed.is_s3:
        _verify_remote(store, manifest, report, deep=deep, jobs=jobs, callbacks=cb)
    else:
        _verify_local(Path(parsed.prefix), manifest, report, callbacks=cb)
    report.missing.sort()
    report.untracked.sort()
    report.mismatched.sort()
    report.unverifiable.sort()
    report.superseded.sort()
    return report


def _verify_remote(
    store: Store,
    manifest: Manifest,
    report: VerifyReport,
    *,
    deep: bool,
    jobs: int,
    callbacks: Callbacks[Entry],
) -> None:
    listing = remote_listing(store)
    to_hash: list[Entry] = []
    for e in manifest.entries():
        report.checked += 1
        o = listing.pop(e.path, None)
        if o is None:
            report.missing.append(e.path)
        elif o.size != e.size:
            report.mismatched.append((e.path, f"size {o.size}, manifest says {e.size}"))
        elif e.etag and o.etag and (diff := _compare_etags(e.etag, o.etag)) is not None:
            kind, why = diff
            if kind == "mismatched":
                report.mismatched.append((e.path, why))
            elif deep:
                to_hash.append(e)
            else:
                report.unverifiable.append((e.path, why))
        elif deep:
            to_hash.append(e)
    report.untracked.extend(listing)
    if report.mismatched and store.capabilities.versioning:
        # A listing shows the newest object; the manifest names a version. If another upload
        # put a newer object on top (a lost race, a stray `cp`), readers still get the
        # manifest's version: it is damage only if that version is gone or differs. One
        # request per such file, none for the others.
        pinned = {e.path: e for e in manifest.entries() if e.version_id}
        for path, why in list(report.mismatched):
            pin = pinned.get(path)
            if pin is not None and _version_intact(store, pin):
                report.mismatched.remove((path, why))
                report.superseded.append(path)
                if deep:
                    to_hash.append(pin)
    if to_hash:
        for e in to_hash:
            callbacks.on_queued(e)
        with ThreadPoolExecutor(jobs) as pool:
            digests = pool.map(lambda e: _hash_remote(store, e, callbacks), to_hash)
            for e, digest in zip(to_hash, digests, strict=True):
                if digest != e.sha256:
                    report.mismatched.append((e.path, "sha256 differs from the manifest"))


def _verify_snapshot(
    store: Store,
    manifest: Manifest,
    report: VerifyReport,
    *,
    deep: bool,
    jobs: int,
    callbacks: Callbacks[Entry],
) -> None:
    """A snapshot holds the versions its entries name, whatever is current now: a listing
    shows only the newest objects, so each version is asked about (one HEAD a file)."""
    entries = list(manifest.entries())
    report.checked += len(entries)

    def check(e: Entry) -> str | None:
        try:
            info = store.info(e.path, version_id=e.version_id)
        except ObjectNotFoundError:
            return "missing"
        if info.size != e.size:
            return f"size {info.size}, manifest says {e.size}"
        diff = _compare_etags(e.etag, info.etag) if e.etag and info.etag else None
        return diff[1] if diff is not None and diff[0] == "mismatched" else None

    with ThreadPoolExecutor(jobs) as pool:
        for e, problem in zip(entries, pool.map(check, entries), strict=True):
            if problem == "missing":
                report.missing.append(e.path)
            elif problem is not None:
                report.mismatched.append((e.path, problem))
    if deep:
        gone = set(report.missing)
        ok = [e for e in entries if e.path not in gone]
        with ThreadPoolExecutor(jobs) as pool:
            digests = pool.map(lambda e: _hash_remote(store, e, callbacks), ok)
            for e, digest in zip(ok, digests, strict=True):
                if digest != e.sha256:
                    report.mismatched.append((e.path, "sha256 differs from the manifest"))


def _version_intact(store: Store, e: Entry) -> bool:
    """Whether the version ``e`` names is there with ``e``'s size and a matching ETag."""
    try:
        info = store.info(e.path, version_id=e.version_id)
    except BrainbucketError:
        return False
    if info.size != e.size:
        return False
    diff = _compare_etags(e.etag, info.etag) if e.etag and info.etag else None
    return diff is None or diff[0] != "mismatched"


def _verify_local(
    root: Path, manifest: Manifest, report: VerifyReport, *, callbacks: Callbacks[Any]
) -> None:
    found = scan(root, filters=Filters())
    files = found.files
    errors = dict(hash_files(list(files.values()), callbacks=callbacks))
    for e in manifest.entries():
        report.checked += 1
        f = files.pop(e.path, None)
        if f is None:
            report.missing.append(e.path)
        elif e.path in errors:
            report.mismatched.append((e.path, errors[e.path]))
        elif f.size != e.size:
            report.mismatched.append((e.path, f"size {f.size}, manifest says {e.size}"))
        elif f.sha256 != e.sha256:
            report.mismatched.append((e.path, "sha256 differs from the manifest"))
    report.untracked.extend(files)
    report.mismatched.extend((p, e) for p, e in found.errors)
