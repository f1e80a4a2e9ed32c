"""Upload a data assembly (xarray object or any file) and record it in the catalog."""

from __future__ import annotations

import getpass
import hashlib
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    BucketNotFoundError,
    ObjectNotFoundError,
    UsageError,
)
from .._hashing import CHUNK, format_sha256
from .._types import ProgressCallback
from .._url import StoreURL, parse_url
from ..store import S3Settings, Store, open_store
from ._catalog import Catalog, read_catalog, update_catalog
from ._netcdf import is_xarray, write_netcdf
from ._record import AssemblyRecord, check_identifier

__all__ = ["resolve_store_url", "upload_data_assembly"]


def resolve_store_url(
    store: str | os.PathLike[str] | StoreURL | Store | None, default: str | None
) -> str | os.PathLike[str] | StoreURL | Store:
    """The store argument, or ``default`` (the configuration's ``BRAINBUCKET_STORE``) when it
    is ``None``.

    Examples
    --------
    >>> resolve_store_url(None, "s3://lab/assemblies")
    's3://lab/assemblies'
    """
    if store is None:
        store = default
        if not store:
            msg = "no assembly store given"
            raise UsageError(
                msg, hint="name it with --store s3://bucket/prefix, or set BRAINBUCKET_STORE"
            )
    return store


def _digests(path: Path) -> tuple[str, str, int]:
    """sha1 hex, ``sha256:`` digest and size, in one read."""
    h1, h256, size = hashlib.sha1(), hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h1.update(chunk)
            h256.update(chunk)
            size += len(chunk)
    return h1.hexdigest(), format_sha256(h256.hexdigest()), size


def _is_versioned(store: Store) -> bool:
    # The store asks the bucket (GetBucketVersioning says "Enabled"); not allowed to ask
    # reads as "no", which keeps every version under its own key.
    return store.capabilities.versioning


def _suffix(path: Path) -> str:
    """``.nc``, ``.csv``; two parts for compressed files (``.nii.gz``, ``.tar.gz``)."""
    parts = path.suffixes
    if len(parts) >= 2 and parts[-1].lower() in (".gz", ".bz2", ".xz", ".zst"):
        return "".join(parts[-2:])
    return path.suffix


def data_key(identifier: str, sha1: str, suffix: str, *, versioned: bool) -> str:
    """Where one version's bytes go, relative to the store root.

    On a versioned bucket every version of an identifier shares one key and S3 keeps them
    apart by version id (as BrainIO does). Anywhere else the key carries the sha1, so a new
    version never overwrites an old one.

    Examples
    --------
    >>> data_key("lab.study", "ab" * 20, ".nc", versioned=True)
    'assemblies/lab.study/lab.study.nc'
    >>> data_key("lab.study", "ab" * 20, ".nc", versioned=False)
    'assemblies/lab.study/abababababababababababababababababababab/lab.study.nc'
    """
    if versioned:
        return f"assemblies/{identifier}/{identifier}{suffix}"
    return f"assemblies/{identifier}/{sha1}/{identifier}{suffix}"


def upload_data_assembly(
    assembly: Any,
    identifier: str,
    store: str | os.PathLike[str] | StoreURL | Store | None = None,
    *,
    class_name: str | None = None,
    stimulus_set_identifier: str | None = None,
    uploader: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    progress: ProgressCallback | None = None,
    config: Config | None = None,
) -> AssemblyRecord:
    """Upload an assembly under ``identifier`` and add the new version to the catalog.

    Parameters
    ----------
    assembly
        An xarray DataArray or Dataset (written as compressed netCDF), or the path of any
        file (a ``.nc`` file is recorded as loadable netCDF).
    identifier
        The assembly's name, e.g. ``lab.Study2024.public``.
    store
        ``s3://bucket/prefix`` or a local folder; default ``BRAINBUCKET_STORE``.
    class_name
        Recorded class (default: the object's class name, or ``File``).
    stimulus_set_identifier
        BrainIO's link to the stimulus set, kept in the catalog.
    uploader
        Recorded uploader (default: the local user name).
    profile, endpoint_url
        Credentials and endpoint, as for :func:`brainbucket.open_store`.
    settings
        Both as one :class:`~brainbucket.S3Settings` value, used instead of them.
    progress
        Called with bytes sent.
    config
        The ``BRAINBUCKET_*`` settings (the default store); default: read from the
        environment.

    Returns
    -------
    AssemblyRecord
        With ``sha1``, ``sha256``, ``version_id`` (``None`` on an unversioned bucket). If the
        newest version already has these bytes, that record is returned and nothing is sent.

    Raises
    ------
    AccessDeniedError
        The credentials may not write there (e.g. a read-only identity).
    NoCredentialsError
        No credentials were found.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile
    >>> a = xr.DataArray(np.arange(4.0), dims="x", name="rates")
    >>> where = tempfile.mkdtemp()
    >>> rec = upload_data_assembly(a, "lab.demo", store=where)
    >>> rec.class_name, len(rec.sha1)
    ('DataArray', 40)
    >>> upload_data_assembly(a, "lab.demo", store=where) == rec  # same bytes: no new version
    True
    """
    check_identifier(identifier)
    target = resolve_store_url(store, (config or Config()).store if store is None else None)
    if settings is None:
        settings = S3Settings.from_options(profile=profile, endpoint_url=endpoint_url)
    st = target if isinstance(target, Store) else _open_for_write(target, settings)
    with tempfile.TemporaryDirectory(prefix="brainbucket-assembly-") as tmp:
        if is_xarray(assembly):
            src = write_netcdf(assembly, Path(tmp) / f"{identifier}.nc")
            kind, default_class = "netcdf", type(assembly).__name__
        elif isinstance(assembly, str | os.PathLike):
            src = Path(assembly)
            if not src.is_file():
                msg = f"no such file: {src}"
                raise ObjectNotFoundError(msg, hint="pass an xarray object or the path of a file")
            kind = "netcdf" if src.suffix == ".nc" else "file"
            default_class = "File"
        else:
            msg = f"cannot upload a {type(assembly).__name__}: pass an xarray object or a file path"
            raise UsageError(msg)
        sha1, sha256, size = _digests(src)

        try:
            catalog = read_catalog(st)
        except BucketNotFoundError as exc:
            # The catalog is read first; for an upload, the bucket is one to create.
            raise BucketNotFoundError.named(st.describe(), writing=True) from exc
        existing = _latest_or_none(catalog, identifier)
        if existing is not None and existing.sha1 == sha1:
            return existing

        key = data_key(identifier, sha1, _suffix(src), versioned=_is_versioned(st))
        try:
            put = st.upload(
                src,
                key,
                sha256=sha256,
                progress=progress,
                metadata={"sha1": sha1, "identifier": identifier},
            )
        except AccessDeniedError as exc:
            if type(exc) is not AccessDeniedError:
                raise
            msg = f"{st.describe(key)}: these credentials may not upload here (access denied)"
            raise AccessDeniedError(
                msg,
                hint=f"use credentials that may write; run `brainbucket doctor {st.describe()}`",
            ) from exc
        record = AssemblyRecord(
            identifier=identifier,
            location=st.describe(key),
            path=key,
            sha1=sha1,
            sha256=put.sha256,
            size=size,
            version_id=put.version_id,
            class_name=class_name or default_class,
            kind=kind,
            uploader=uploader or _local_user(),
            time=datetime.now(timezone.utc).replace(microsecond=0),
            stimulus_set_identifier=stimulus_set_identifier,
        )
    return update_catalog(st, lambda cat: cat.add(record))


def _latest_or_none(catalog: Catalog, identifier: str) -> AssemblyRecord | None:
    records = catalog.entries.get(identifier)
    return records[-1] if records else None


def _open_for_write(target: Any, settings: S3Settings) -> Store:
    parsed = target if isinstance(target, StoreURL) else parse_url(target)
    if not parsed.is_s3:
        Path(parsed.prefix).mkdir(parents=True, exist_ok=True)
    return open_store(parsed, settings=settings)


def _local_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError, BrainbucketError):
        return None
