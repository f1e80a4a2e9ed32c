"""Stores: where bytes live. ``open_store`` picks the backend from the URL."""

from __future__ import annotations

import os

from .._url import StoreURL, parse_url
from ._base import Store, join_path
from ._local import LocalStore
from ._s3 import S3Store
from ._session import S3Settings

__all__ = [
    "LocalStore",
    "S3Settings",
    "S3Store",
    "Store",
    "join_path",
    "open_store",
    "split_object_url",
]


def open_store(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> Store:
    """Open the store at ``url``: an S3 bucket/prefix or a local folder.

    Parameters
    ----------
    url
        ``s3://bucket/prefix``, ``file:///path`` or a local path.
    profile
        AWS profile (as written by ``aws configure --profile NAME``).
    anon
        Unsigned requests, for public data.
    endpoint_url
        S3 endpoint; else ``BRAINBUCKET_ENDPOINT_URL``; else the AWS config's ``endpoint_url``.
    region
        Region override.

    Returns
    -------
    Store

    Examples
    --------
    >>> import tempfile
    >>> store = open_store(tempfile.mkdtemp())
    >>> store.write_bytes("sub-01/notes.txt", b"hello").size
    5
    >>> [o.path for o in store.walk()]
    ['sub-01/notes.txt']
    """
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if parsed.is_s3:
        return S3Store(
            parsed,
            S3Settings(endpoint_url=endpoint_url, profile=profile, anon=anon, region=region),
        )
    return LocalStore(parsed)


def split_object_url(url: str | os.PathLike[str] | StoreURL, **kwargs: object) -> tuple[Store, str]:
    """Open the store holding one object, and that object's path in it.

    For ``s3://bucket/a/b.txt`` the store is the bucket and the path ``a/b.txt``; for a local
    file, the store is its folder and the path its name.
    """
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if parsed.is_s3:
        return open_store(StoreURL("s3", parsed.bucket, ""), **kwargs), parsed.prefix  # type: ignore[arg-type]
    parent, name = os.path.split(parsed.prefix)
    return open_store(StoreURL("file", "", parent or "/")), name
