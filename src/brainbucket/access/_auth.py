"""Decide up front whether to sign requests, so a refusal is reported once, clearly.

Trying a signed request, then an unsigned one, and showing both failures tells a user
nothing. The rule here: unsigned when asked for (``anon=True``) or when the credential chain
finds nothing; signed otherwise. A refusal of an unsigned read then means "private", and
says so in one line.
"""

from __future__ import annotations

import os

from .._exceptions import NoCredentialsError
from .._url import StoreURL, parse_url
from ..store import S3Store, Store, open_store
from ..store._awsconfig import AwsConfig, NeedsBoto, profile_not_found

__all__ = ["PRIVATE_MESSAGE", "has_credentials", "open_auto", "private_error"]

PRIVATE_MESSAGE = "private: credentials required — pass --profile or set AWS_PROFILE"


def has_credentials(profile: str | None = None) -> bool:
    """Whether boto3's credential chain finds credentials (environment, profile, files).

    Examples
    --------
    >>> isinstance(has_credentials(), bool)
    True
    """
    try:
        AwsConfig(profile).credentials()  # static keys, found without importing boto3
    except NeedsBoto:
        pass
    else:
        return True
    import boto3
    import botocore.exceptions

    try:
        session = boto3.session.Session(profile_name=profile)
    except botocore.exceptions.ProfileNotFound as exc:
        raise profile_not_found(profile or exc.kwargs.get("profile")) from exc
    try:
        return session.get_credentials() is not None
    except botocore.exceptions.BotoCoreError:
        return False


def open_auto(
    url: str | os.PathLike[str] | StoreURL | Store,
    *,
    profile: str | None = None,
    anon: bool | None = None,
    endpoint_url: str | None = None,
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

    Examples
    --------
    >>> import tempfile
    >>> open_auto(tempfile.mkdtemp()).url.scheme
    'file'
    """
    if isinstance(url, Store):
        return url
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if not parsed.is_s3:
        return open_store(parsed)
    if anon is None:
        anon = profile is None and not has_credentials(profile)
    return open_store(parsed, profile=profile, anon=anon, endpoint_url=endpoint_url)


def private_error(store: Store, what: str) -> NoCredentialsError:
    """The one-line error for an unsigned read the server refused."""
    msg = f"{what}: {PRIVATE_MESSAGE}"
    hint = None
    if isinstance(store, S3Store):
        hint = f"or ask the owner to run `brainbucket publish {store.describe()}`"
    return NoCredentialsError(msg, hint=hint)
