"""Store URLs: ``s3://bucket/prefix``, ``file:///path`` and plain local paths."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ._exceptions import InvalidURLError

__all__ = ["StoreURL", "parse_url"]

# S3's own rules (3-63 chars, lowercase letters, digits, dots, hyphens) plus underscores and
# uppercase, which several S3-compatible servers and legacy AWS buckets accept.
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$")


@dataclass(frozen=True)
class StoreURL:
    """A parsed store location.

    Attributes
    ----------
    scheme
        ``"s3"`` or ``"file"``.
    bucket
        Bucket name for ``s3``; empty for ``file``.
    prefix
        Key prefix inside the bucket, without a leading ``/``; for ``file``, the absolute path.
    """

    scheme: str
    bucket: str
    prefix: str

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"

    def __str__(self) -> str:
        if self.is_s3:
            return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        return self.prefix

    def join(self, *parts: str) -> StoreURL:
        """Return this URL with ``parts`` appended to the prefix."""
        extra = "/".join(p.strip("/") for p in parts if p.strip("/"))
        if not extra:
            return self
        if self.is_s3:
            base = self.prefix.rstrip("/")
            return StoreURL("s3", self.bucket, f"{base}/{extra}" if base else extra)
        return StoreURL("file", self.bucket, os.path.join(self.prefix, extra))


def parse_url(url: str | os.PathLike[str]) -> StoreURL:
    """Parse a store URL.

    Parameters
    ----------
    url
        ``s3://bucket[/prefix]``, ``file:///abs/path`` or a local path (relative or absolute).

    Returns
    -------
    StoreURL

    Raises
    ------
    InvalidURLError
        For unknown schemes, a missing or malformed bucket name, or NUL characters.

    Examples
    --------
    >>> parse_url("s3://study/derivatives/dmriprep")
    StoreURL(scheme='s3', bucket='study', prefix='derivatives/dmriprep')
    >>> parse_url("s3://study").prefix
    ''
    """
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not isinstance(url, str) or not url:
        msg = f"empty or non-text store URL: {url!r}"
        raise InvalidURLError(msg)
    if "\x00" in url:
        msg = "store URL contains a NUL character"
        raise InvalidURLError(msg)
    scheme, sep, rest = url.partition("://")
    if not sep:
        # A plain path. Windows-style "C:\..." never reaches here on POSIX; treat as path.
        try:
            local = Path(url).expanduser()
        except RuntimeError as exc:  # "~name" for a user that does not exist
            msg = f"cannot expand {url.split('/')[0]!r} in {url!r}: no such user"
            raise InvalidURLError(msg, hint="write the folder's full path") from exc
        return StoreURL("file", "", str(local.absolute()))
    scheme = scheme.lower()
    if scheme == "file":
        path = unquote(rest)
        if not path.startswith("/"):
            msg = f"file URL needs an absolute path (file:///path): {url!r}"
            raise InvalidURLError(msg)
        return StoreURL("file", "", str(Path(path).absolute()))
    if scheme in ("s3", "s3a"):
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            msg = f"no bucket name in {url!r}"
            raise InvalidURLError(msg, hint="use s3://BUCKET/prefix")
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            msg = f"invalid bucket name {bucket!r} in {url!r}"
            raise InvalidURLError(
                msg, hint="bucket names are 3-63 letters, digits, dots, hyphens or underscores"
            )
        while "//" in prefix:
            prefix = prefix.replace("//", "/")
        return StoreURL("s3", bucket, prefix.lstrip("/"))
    msg = f"unsupported URL scheme {scheme!r} in {url!r}"
    raise InvalidURLError(msg)
