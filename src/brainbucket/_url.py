"""Store URLs: ``s3://bucket/prefix``, ``file:///path`` and plain local paths."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from ._exceptions import InvalidURLError

__all__ = ["BUCKET_RULE", "StoreURL", "bucket_name_problem", "parse_url"]

# The bucket naming rules of AWS S3, which SeaweedFS, MinIO and other servers enforce too.
# Checked here, before any request: the server's own answer ("InvalidBucketName", or just
# "no such bucket" for a read) does not say which rule a name breaks. (Buckets with uppercase
# letters or underscores, created in us-east-1 before 2018, cannot be named.)
BUCKET_RULE = (
    "bucket names are 3-63 characters: lowercase letters, digits, dots and hyphens, "
    "beginning and ending with a letter or digit"
)
_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# A store URL with its "://" mistyped: s3:/bucket, s3:bucket, s3//bucket.
_MISTYPED_RE = re.compile(r"^(s3a?|file)(?::/?(?!/)|//)(.*)$", re.IGNORECASE | re.DOTALL)


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
    ref
        A snapshot of the study there (``s3://study@v1.0.0``): a tag name or a manifest
        digest (``sha256:3f5c…``, a prefix is enough); ``""``: the current state.
    """

    scheme: str
    bucket: str
    prefix: str
    ref: str = ""

    @property
    def is_s3(self) -> bool:
        return self.scheme == "s3"

    def __str__(self) -> str:
        at = f"@{self.ref}" if self.ref else ""
        if self.is_s3:
            base = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
            return base + at
        return self.prefix + at

    def join(self, *parts: str) -> StoreURL:
        """Return this URL with ``parts`` appended to the prefix (a path inside a snapshot
        names an object, not a snapshot: the result has no ``ref``)."""
        extra = "/".join(p.strip("/") for p in parts if p.strip("/"))
        if not extra:
            return StoreURL(self.scheme, self.bucket, self.prefix)
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
    StoreURL(scheme='s3', bucket='study', prefix='derivatives/dmriprep', ref='')
    >>> parse_url("s3://study").prefix
    ''
    >>> parse_url("s3://study@v1.0.0")
    StoreURL(scheme='s3', bucket='study', prefix='', ref='v1.0.0')

    In an S3 URL, an ``@`` in the last part starts a snapshot reference; a key that holds
    ``@`` is written with ``%40`` there.
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
        _refuse_mistyped(url)
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
        rest, ref = _split_ref(url, rest)
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            msg = f"no bucket name in {url!r}"
            raise InvalidURLError(msg, hint="use s3://BUCKET/prefix")
        problem = bucket_name_problem(bucket)
        if problem:
            msg = f"{url}: invalid bucket name {bucket!r}: {problem}"
            hint = BUCKET_RULE
            fixed = _fixed_name(bucket)
            if fixed:
                hint = f"{hint}; did you mean s3://{fixed}{'/' if prefix else ''}{prefix}?"
            raise InvalidURLError(msg, hint=hint)
        while "//" in prefix:
            prefix = prefix.replace("//", "/")
        return StoreURL("s3", bucket, prefix.lstrip("/").replace("%40", "@"), ref)
    msg = f"unsupported URL scheme {scheme!r} in {url!r}"
    raise InvalidURLError(msg)


def _split_ref(url: str, rest: str) -> tuple[str, str]:
    """``rest`` without its ``@ref`` (only in the last part of the path), and the ref."""
    head, at, ref = rest.rpartition("@")
    if not at or "/" in ref.rstrip("/"):
        return rest, ""
    ref = ref.rstrip("/")
    # Imported here: `import brainbucket` loads no feature's rules (tests/startup).
    from ._refs import REF_RULE, ref_problem

    problem = ref_problem(ref)
    if problem:
        msg = f"{url}: invalid snapshot {ref!r}: {problem}"
        raise InvalidURLError(msg, hint=REF_RULE)
    return head, ref


def bucket_name_problem(name: str) -> str:
    """Which S3 bucket naming rule ``name`` breaks, or ``""`` if it keeps them all.

    Examples
    --------
    >>> bucket_name_problem("demo-study")
    ''
    >>> bucket_name_problem("ab")
    'shorter than 3 characters'
    >>> bucket_name_problem("My_Study")
    'uppercase letters and underscores are not allowed'
    """
    if len(name) < 3:
        return "shorter than 3 characters"
    if len(name) > 63:
        return "longer than 63 characters"
    upper = any(c.isupper() for c in name)
    under = "_" in name
    if upper or under:
        which = " and ".join(
            w for w, bad in (("uppercase letters", upper), ("underscores", under)) if bad
        )
        return f"{which} are not allowed"
    bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in ".-"))})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return f"holds {shown}: only lowercase letters, digits, dots and hyphens are allowed"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a letter or digit"
    if ".." in name:
        return "two dots in a row are not allowed"
    if _IP_RE.match(name):
        return "must not look like an IP address"
    for reserved in _RESERVED_PREFIXES:
        if name.startswith(reserved):
            return f"the prefix {reserved!r} is reserved"
    for reserved in _RESERVED_SUFFIXES:
        if name.endswith(reserved):
            return f"the suffix {reserved!r} is reserved"
    return ""


def _fixed_name(name: str) -> str:
    """The valid name a user most likely meant (lowercase, ``_`` → ``-``), or ``""``."""
    fixed = name.lower().replace("_", "-")
    return fixed if fixed != name and not bucket_name_problem(fixed) else ""


def _refuse_mistyped(url: str) -> None:
    """Refuse ``s3:/bucket``, ``s3:bucket`` and ``s3//bucket`` unless such a local path exists.

    Read as a local path, a mistyped S3 URL would fail later with "no such file or folder"
    (or, as a destination, create a folder named ``s3:``).
    """
    m = _MISTYPED_RE.match(url)
    if m is None or os.path.lexists(os.path.expanduser(url)):
        return
    scheme, rest = m.group(1).lower(), m.group(2).lstrip("/")
    if scheme == "file":
        msg = f"{url!r} is not a file URL: did you mean file:///{rest}?"
        hint = f"file URLs take an absolute path after file://, and no local path is named {url!r}"
    else:
        msg = f"{url!r} is not an S3 URL: did you mean {scheme}://{rest or 'BUCKET'}?"
        hint = f"S3 URLs take two slashes (s3://bucket/prefix), and no local path is named {url!r}"
    raise InvalidURLError(msg, hint=hint)
