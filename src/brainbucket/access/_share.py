"""Presigned URLs: let anyone fetch one object for a while, with plain HTTP."""

from __future__ import annotations

import os
import re
from datetime import timedelta

from .._exceptions import UsageError
from .._url import StoreURL
from ..store import S3Settings, split_object_url

__all__ = ["parse_duration", "share"]

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_SECONDS = 7 * 86400


def parse_duration(value: str | int | timedelta) -> timedelta:
    """``"90"``, ``"30s"``, ``"15m"``, ``"1h"``, ``"7d"`` (up to 7 days) → timedelta.

    Examples
    --------
    >>> parse_duration("1h")
    datetime.timedelta(seconds=3600)
    """
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    elif isinstance(value, int):
        seconds = value
    else:
        m = _DURATION_RE.match(value)
        if not m:
            msg = f"cannot read the duration {value!r}"
            raise UsageError(
                msg, hint="use seconds or a number with s, m, h, d or w: 30s, 15m, 1h, 7d"
            )
        seconds = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if not 1 <= seconds <= MAX_SECONDS:
        msg = f"a shared link lasts between 1 second and 7 days, not {seconds} s"
        raise UsageError(msg, hint="choose --expires between 1s and 7d")
    return timedelta(seconds=seconds)


def share(
    url: str | os.PathLike[str] | StoreURL,
    expires: str | int | timedelta = "1h",
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> str:
    """A presigned URL anyone can GET (no credentials, any HTTP client) until it expires.

    The object must exist: a link to nothing is refused up front.

    Raises
    ------
    ObjectNotFoundError
        No such object.
    UsageError
        Not an S3 object, or an expiry outside 1 s … 7 days.

    Examples
    --------
    >>> share("s3://study/sub-01/anat/sub-01_T1w.nii.gz", "1h")  # doctest: +SKIP
    'http://127.0.0.1:8333/study/sub-01/anat/sub-01_T1w.nii.gz?X-Amz-Algorithm=...'
    """
    lifetime = parse_duration(expires)
    if settings is None:
        settings = S3Settings.from_options(profile=profile, endpoint_url=endpoint_url)
    store, path = split_object_url(url, settings=settings)
    if not store.capabilities.presign:
        msg = f"{url}: only S3 objects can be shared by link"
        raise UsageError(msg, hint="use s3://bucket/key")
    if not path or path.endswith("/"):
        msg = f"{url}: a link shares one object, not a bucket or folder"
        raise UsageError(msg, hint="name an object: s3://bucket/key")
    store.info(path)  # a clear error now beats a link that answers 404 later
    return store.presign(path, expires=lifetime)
