"""Decide up front whether to sign requests, so a refusal is reported once, clearly.

Trying a signed request, then an unsigned one, and showing both failures tells a user
nothing. The rule here: unsigned when asked for (``anon=True``) or when the credential chain
finds nothing; signed otherwise. A refusal of an unsigned read then means "private", and
says so in one line.
"""

from __future__ import annotations

import os

from .._exceptions import NoCredentialsError
from .._url import StoreURL
from ..store import S3Settings, Store, chain_has_credentials, open_store

__all__ = ["PRIVATE_MESSAGE", "has_credentials", "open_auto", "private_error"]

PRIVATE_MESSAGE = "private: credentials required — pass --profile or set AWS_PROFILE"


def has_credentials(profile: str | None = None) -> bool:
    """Whether the AWS credential chain finds credentials (environment, profile, files).

    Examples
    --------
    >>> isinstance(has_credentials(), bool)
    True
    """
    return chain_has_credentials(profile)


def open_auto(
    url: str | os.PathLike[str] | StoreURL | Store,
    *,
    profile: str | None = None,
    anon: bool | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> Store:
    """Open a store for reading, signed or unsigned as decided once, up front.

    Parameters
    ----------
    url
        ``s3://bucket/prefix``, a local folder, or an already open store (returned as is).
    profile, endpoint_url
        As for :func:`brainbucket.open_store`.
    anon
        ``True``: unsigned. ``False``: signed (fails clearly without credentials). ``None``
        (default): unsigned exactly when no credentials are found.
    settings
        All of the above as one value.

    Examples
    --------
    >>> import tempfile
    >>> open_auto(tempfile.mkdtemp()).url.scheme
    'file'
    """
    if isinstance(url, Store):
        return url
    if settings is None:
        settings = S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)
    return open_store(url, settings=settings)


def private_error(store: Store, what: str) -> NoCredentialsError:
    """The one-line error for an unsigned read the server refused."""
    msg = f"{what}: {PRIVATE_MESSAGE}"
    hint = None
    if store.capabilities.policies:
        hint = f"or ask the owner to run `brainbucket publish {store.describe()}`"
    return NoCredentialsError(msg, hint=hint)
