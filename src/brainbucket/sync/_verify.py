"""``verify``: re-check a dataset (bucket or folder) against its manifest."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import ObjectNotFoundError
from .._hashing import format_sha256
from .._url import parse_url
from ..manifest import Manifest, read_manifest
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
    """

    url: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, str]] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)

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
        }


def _hash_remote(store: Store, path: str) -> str:
    h = hashlib.sha256()
    for chunk in store.iter_bytes(path):
        h.update(chunk)
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
) -> VerifyReport:
    """Compare a dataset with its manifest: missing, mismatched and untracked files.

    A bucket is checked by listing (size and ETag against the manifest); ``deep`` also
    downloads and hashes every object. A local folder (one an upload or download sync
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
    if parsed.is_s3:
        _verify_remote(store, manifest, report, deep=deep, jobs=jobs)
    else:
        _verify_local(Path(parsed.prefix), manifest, report)
    report.missing.sort()
    report.untracked.sort()
    report.mismatched.sort()
    return report


def _verify_remote(
    store: Store, manifest: Manifest, report: VerifyReport, *, deep: bool, jobs: int
) -> None:
    listing = remote_listing(store)
    to_hash: list[str] = []
    for e in manifest.entries():
        report.checked += 1
        o = listing.pop(e.path, None)
        if o is None:
            report.missing.append(e.path)
        elif o.size != e.size:
            report.mismatched.append((e.path, f"size {o.size}, manifest says {e.size}"))
        elif e.etag and o.etag and o.etag != e.etag:
            report.mismatched.append(
                (e.path, "changed on the server (ETag differs from the manifest)")
            )
        elif deep:
            to_hash.append(e.path)
    report.untracked.extend(listing)
    if to_hash:
        with ThreadPoolExecutor(jobs) as pool:
            digests = pool.map(lambda p: _hash_remote(store, p), to_hash)
            for path, digest in zip(to_hash, digests, strict=True):
                if digest != manifest[path].sha256:
                    report.mismatched.append((path, "sha256 differs from the manifest"))


def _verify_local(root: Path, manifest: Manifest, report: VerifyReport) -> None:
    found = scan(root, filters=Filters())
    files = found.files
    errors = dict(hash_files(list(files.values())))
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
