"""Which cache entry a mirror of a snapshot (``s3://lab/study@v1.0.0``) uses.

A snapshot cannot change: its manifest root is named by its digest. So the mirror of a
snapshot is keyed by that digest, not by the tag: ``@v1.0.0`` and ``@sha256:3f5c…`` of the
same manifest share one cache entry, and a tag moved to another manifest gets a new one. Its
file list, once saved, is never read again.

Online, the reference is resolved (one small read of the tag) and the answer kept beside the
cache entries, so an offline mirror of the same URL finds its entry without the network.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .._exceptions import OfflineError
from .._url import StoreURL
from ..store import Store
from ._cache import _atomic_write

__all__ = ["cache_key"]


def _alias_path(cache_dir: Path, url: StoreURL, endpoint: str | None) -> Path:
    h = hashlib.sha256(f"{endpoint or ''}\n{url}".encode()).hexdigest()
    return cache_dir / "mirror" / "refs" / f"{h}.json"


def cache_key(
    remote: Store, url: StoreURL, endpoint: str | None, cache_dir: Path, *, offline: bool
) -> str:
    """The URL a mirror of ``url`` is cached under: ``url`` itself for a live study; for a
    snapshot, ``url`` with its reference replaced by the full digest of the manifest it names.

    Raises
    ------
    OfflineError
        Offline, and this reference was never resolved into ``cache_dir``.
    NotFoundError
        Online, no such tag or manifest (naming the tags there are).
    """
    if not url.ref:
        return str(url)
    alias = _alias_path(cache_dir, url, endpoint)
    if offline:
        try:
            digest = str(json.loads(alias.read_bytes())["digest"])
        except (OSError, ValueError, KeyError, TypeError):
            msg = f"offline, and {url} was never mirrored into {cache_dir}"
            raise OfflineError(
                msg, hint="run once without --offline or BRAINBUCKET_OFFLINE to record it"
            ) from None
    else:
        from ..manifest._resolve import resolve_ref

        digest = resolve_ref(remote, url.ref)
        try:
            alias.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(alias, json.dumps({"url": str(url), "digest": digest}).encode())
        except OSError:
            pass  # a read-only cache: only offline use of this URL needs the note
    return str(StoreURL(url.scheme, url.bucket, url.prefix, digest))
