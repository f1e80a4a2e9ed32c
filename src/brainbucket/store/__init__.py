"""Stores: where bytes live. ``open_store`` picks the backend from the URL.

This package is the only code that talks to S3 (boto3, botocore, obstore). Everything above
it holds a :class:`Store`, asks its :attr:`~Store.capabilities` what it can do, and gets typed
results or brainbucket's exceptions. Which server and which credentials come from one
:class:`S3Settings` value, built where the user's input enters.
"""

from __future__ import annotations

import os

from .._url import StoreURL, parse_url
from ._base import Store, join_path
from ._capabilities import Capabilities
from ._http import Abort, Cancelled
from ._local import LocalStore
from ._route import RESUME_THRESHOLD, Route
from ._s3 import S3Store
from ._s3_control import list_buckets
from ._s3_write import PART_SIZE, Part
from ._session import EndpointOrigin, available_profiles, chain_has_credentials, endpoint_origin
from ._settings import S3Settings
from ._swap import swap_bytes

__all__ = [
    "PART_SIZE",
    "RESUME_THRESHOLD",
    "Abort",
    "Cancelled",
    "Capabilities",
    "EndpointOrigin",
    "LocalStore",
    "Part",
    "Route",
    "S3Settings",
    "S3Store",
    "Store",
    "available_profiles",
    "chain_has_credentials",
    "endpoint_origin",
    "join_path",
    "list_buckets",
    "open_store",
    "split_object_url",
    "swap_bytes",
]


def open_store(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    anon: bool | None = False,
    endpoint_url: str | None = None,
    region: str | None = None,
    settings: S3Settings | None = None,
) -> Store:
    """Open the store at ``url``: an S3 bucket/prefix or a local folder.

    Parameters
    ----------
    url
        ``s3://bucket/prefix``, ``file:///path`` or a local path.
    profile
        AWS profile (as written by ``aws configure --profile NAME``).
    anon
        ``True``: unsigned requests, for public data. ``None``: unsigned exactly when no
        credentials are found.
    endpoint_url
        S3 endpoint; else ``BRAINBUCKET_ENDPOINT_URL``; else the AWS config's ``endpoint_url``.
    region
        Region override.
    settings
        All of the above as one value (the keyword arguments are then not used).

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
        if settings is None:
            settings = S3Settings.from_options(
                profile=profile, anon=anon, endpoint_url=endpoint_url, region=region
            )
        return S3Store(parsed, settings)
    return LocalStore(parsed)


def split_object_url(
    url: str | os.PathLike[str] | StoreURL, *, settings: S3Settings | None = None
) -> tuple[Store, str]:
    """Open the store holding one object, and that object's path in it.

    For ``s3://bucket/a/b.txt`` the store is the bucket and the path ``a/b.txt``; for a local
    file, the store is its folder and the path its name.
    """
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if parsed.is_s3:
        return open_store(StoreURL("s3", parsed.bucket, ""), settings=settings), parsed.prefix
    parent, name = os.path.split(parsed.prefix)
    return open_store(StoreURL("file", "", parent or "/")), name
