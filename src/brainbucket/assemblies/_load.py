"""Load one exact, verified version of an assembly — from the local cache when it is there.

Cache layout: ``<cache>/assemblies/<identifier>/<sha1>/<file>`` plus ``record.json`` beside
it. Content is addressed by sha1, so a cached file is exactly the bytes of every version with
that sha1. ``record.json`` is written after the data, so a half-filled cache folder never
counts as a hit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import (
    AssemblyNotFoundError,
    IntegrityError,
    NoCredentialsError,
    OfflineError,
    UsageError,
)
from .._hashing import VerifiedWriter
from .._paths import check_key, local_path_for
from .._types import Expected, ProgressCallback
from .._url import StoreURL
from ..access._auth import open_auto, private_error
from ..store import S3Settings, Store
from ._catalog import CATALOG_PATH, read_catalog
from ._netcdf import read_netcdf
from ._record import AssemblyRecord, check_identifier
from ._upload import resolve_store_url

__all__ = ["FetchResult", "fetch_assembly", "load_assembly", "load_from_s3"]

log = logging.getLogger("brainbucket.assemblies")


@dataclass(frozen=True)
class FetchResult:
    """A loaded version: its local path, its record, and whether the network was used."""

    path: Path
    record: AssemblyRecord
    from_cache: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the record's fields, ``path`` the local file, ``key`` its key
        in the store (the record's own ``path``).

        Examples
        --------
        >>> r = AssemblyRecord("a.b", "s3://x/a.b.nc", "a.b.nc", "0" * 40, None, 3, None, "File")
        >>> d = FetchResult(Path("cache/a.b.nc"), r, from_cache=True).to_dict()
        >>> d["path"], d["key"], d["location"]
        ('cache/a.b.nc', 'a.b.nc', 's3://x/a.b.nc')
        """
        fields = self.record.to_dict()
        # The record names the object by its key; a caller of a load wants the file it got.
        key = fields.pop("path")
        return {"path": str(self.path), "key": key, "from_cache": self.from_cache, **fields}


def _cached(root: Path, record: AssemblyRecord) -> Path:
    name = record.path.rsplit("/", 1)[-1] if record.path else f"{record.identifier}.bin"
    return local_path_for(root, f"{record.identifier}/{record.sha1}/{name}")


def _cache_hits(
    root: Path, identifier: str, version_id: str | None, sha1: str | None
) -> list[tuple[Path, AssemblyRecord]]:
    """Complete cache entries of ``identifier`` matching what was asked, newest first."""
    base = local_path_for(root, identifier)
    if not base.is_dir():
        return []
    folders = [base / sha1] if sha1 else sorted(base.iterdir())
    hits: list[tuple[Path, AssemblyRecord]] = []
    for folder in folders:
        meta = folder / "record.json"
        try:
            record = AssemblyRecord.from_dict(json.loads(meta.read_text()), what=str(meta))
        except (OSError, ValueError):
            continue  # absent or half-written: not a hit
        path = _cached(root, record)
        if record.sha1 != folder.name or not path.is_file():
            continue
        if record.size is not None and path.stat().st_size != record.size:
            continue
        if version_id is not None and record.version_id != version_id:
            continue
        hits.append((path, record))
    hits.sort(key=lambda h: h[1].time.isoformat() if h[1].time else "", reverse=True)
    return hits


def _download(
    store: Store, record: AssemblyRecord, dest: Path, progress: Any, durable: bool
) -> None:
    if not record.path:
        msg = f"{record.short}: its location {record.location} is outside this store"
        raise UsageError(msg, hint="copy the file into the store and upload it again")
    check_key(record.path)
    h1 = hashlib.sha1()
    expected = Expected(size=record.size, sha256=record.sha256, version_id=record.version_id)
    with VerifiedWriter(dest, expected, what=record.location, durable=durable) as w:
        for chunk in store.iter_bytes(record.path, version_id=record.version_id):
            w.write(chunk)
            h1.update(chunk)
            if progress is not None:
                progress(len(chunk))
        if h1.hexdigest() != record.sha1:
            msg = (
                f"{record.location}: downloaded bytes have sha1 {h1.hexdigest()}, not the "
                f"catalog's {record.sha1}; nothing was kept"
            )
            raise IntegrityError(msg)
        w.commit()
    meta = dest.with_name("record.json")
    tmp = meta.with_name(f".record.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(record.to_dict(), indent=1))
    os.replace(tmp, meta)


def fetch_assembly(
    identifier: str,
    version_id: str | None = None,
    sha1: str | None = None,
    store: str | os.PathLike[str] | StoreURL | Store | None = None,
    *,
    profile: str | None = None,
    anon: bool | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    verify: bool = False,
    progress: ProgressCallback | None = None,
    config: Config | None = None,
) -> FetchResult:
    """Like :func:`load_from_s3`, but also says which version came and whether from cache.

    Takes the same arguments; ``settings`` (an :class:`~brainbucket.S3Settings`) stands for
    ``profile``, ``anon`` and ``endpoint_url`` together and is used instead of them.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile
    >>> where, cache = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> from brainbucket.assemblies import upload_data_assembly
    >>> rec = upload_data_assembly(xr.DataArray(np.ones(3), dims="x"), "lab.ones", store=where)
    >>> fetch_assembly("lab.ones", store=where, cache_dir=cache).from_cache
    False
    >>> fetch_assembly("lab.ones", sha1=rec.sha1, store=where, cache_dir=cache).from_cache
    True
    """
    check_identifier(identifier)
    if sha1 is not None:
        sha1 = sha1.lower()
    config = config or Config()
    root = Path(cache_dir) if cache_dir is not None else config.cache_dir / "assemblies"
    if version_id is not None or sha1 is not None:
        hits = _cache_hits(root, identifier, version_id, sha1)
        if hits and (not verify or _rehash_ok(*hits[0])):
            return FetchResult(hits[0][0], hits[0][1], True)
    if config.offline:
        hits = _cache_hits(root, identifier, version_id, sha1)
        if hits:
            return FetchResult(hits[0][0], hits[0][1], True)
        msg = f"assembly {identifier!r} is not in the cache and offline mode is on"
        raise OfflineError(msg)

    if settings is None:
        settings = S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)
    st = open_auto(resolve_store_url(store, config.store), settings=settings)
    try:
        catalog = read_catalog(st)
        if not catalog.entries:
            msg = f"no assembly {identifier!r}: {st.describe()} has no assembly catalog"
            raise AssemblyNotFoundError(msg, hint=f"looked for {st.describe(CATALOG_PATH)}")
        record = catalog.find(identifier, version_id=version_id, sha1=sha1)
        if version_id is None and sha1 is None:
            log.info("loading the newest version of %s: %s", identifier, record.short)
        dest = _cached(root, record)
        hits = _cache_hits(root, identifier, None, record.sha1)
        if hits and (not verify or _rehash_ok(*hits[0])):
            return FetchResult(hits[0][0], record, True)
        _download(st, record, dest, progress, config.fsync)
    except NoCredentialsError as exc:
        if not st.credentials().signed:
            raise private_error(st, st.describe()) from exc
        raise
    return FetchResult(dest, record, False)


def _rehash_ok(path: Path, record: AssemblyRecord) -> bool:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    if h.hexdigest() == record.sha1:
        return True
    with contextlib.suppress(OSError):
        path.unlink()  # damaged: forget it, and fetch it again
    return False


def load_from_s3(
    identifier: str,
    version_id: str | None = None,
    sha1: str | None = None,
    store: str | os.PathLike[str] | StoreURL | Store | None = None,
    **kwargs: Any,
) -> Path:
    """Local path of exactly one version of an assembly, verified (sha1 and sha256).

    A version already in the cache (``BRAINBUCKET_CACHE``/assemblies) is returned without any
    network request. Without ``version_id`` and ``sha1`` the newest version is loaded (and
    logged on the ``brainbucket.assemblies`` logger).

    Parameters
    ----------
    identifier
        The assembly's name.
    version_id
        S3 version id, as returned by the upload.
    sha1
        Expected sha1: a mismatch raises :class:`IntegrityError` and nothing is cached.
    store
        ``s3://bucket/prefix`` or a local folder; default ``BRAINBUCKET_STORE``.
    **kwargs
        ``profile``, ``anon`` (``None``: unsigned exactly when no credentials are found),
        ``endpoint_url`` (or all three as ``settings``, an :class:`~brainbucket.S3Settings`),
        ``cache_dir``, ``verify`` (re-hash cached files), ``progress``, ``config`` (the
        ``BRAINBUCKET_*`` settings: cache, offline mode, default store, ``fsync``; default:
        read from the environment, once).

    Raises
    ------
    AssemblyNotFoundError
        Unknown identifier or version (the message lists what exists).
    IntegrityError
        Wrong sha1, or the bytes do not match the catalog.
    NoCredentialsError
        The data is private and no credentials were found.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile
    >>> from brainbucket.assemblies import upload_data_assembly
    >>> where = tempfile.mkdtemp()
    >>> rec = upload_data_assembly(xr.DataArray(np.zeros(2), dims="x"), "lab.zeros", store=where)
    >>> load_from_s3("lab.zeros", rec.version_id, rec.sha1, store=where).name
    'lab.zeros.nc'
    """
    return fetch_assembly(identifier, version_id, sha1, store, **kwargs).path


def load_assembly(
    identifier: str,
    version_id: str | None = None,
    sha1: str | None = None,
    store: str | os.PathLike[str] | StoreURL | Store | None = None,
    **kwargs: Any,
) -> Any:
    """Load one version as an xarray object (DataArray unless a Dataset was uploaded).

    Takes the same arguments as :func:`load_from_s3`.

    Raises
    ------
    UsageError
        The version is a plain file, not netCDF (use :func:`load_from_s3` for its path).

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile
    >>> from brainbucket.assemblies import upload_data_assembly
    >>> where = tempfile.mkdtemp()
    >>> a = xr.DataArray(np.arange(3.0), dims="x", coords={"x": [10, 20, 30]}, name="r")
    >>> _ = upload_data_assembly(a, "lab.r", store=where)
    >>> bool(load_assembly("lab.r", store=where).equals(a))
    True
    """
    got = fetch_assembly(identifier, version_id, sha1, store, **kwargs)
    if got.record.kind != "netcdf":
        msg = f"{got.record.short} is a file ({got.record.class_name}), not netCDF"
        raise UsageError(msg, hint="use load_from_s3 (or `brainbucket assembly load`) for its path")
    return read_netcdf(got.path, got.record.class_name)
