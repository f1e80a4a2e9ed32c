"""Make a prefix publicly readable through the bucket policy, and back.

Object ACLs are stored but not enforced by every S3 server; bucket policies are. Publishing
adds two statements with their own Sids (derived from the prefix), leaving every other
statement alone: anonymous GetObject/GetObjectVersion on ``prefix/*`` and ListBucket limited
to that prefix by an ``s3:prefix`` condition.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import UsageError
from .._url import StoreURL, parse_url
from ..store import S3Settings, Store, open_store

__all__ = ["AccessStatus", "is_public", "public_statements", "publish", "unpublish"]

SID_PREFIX = "Brainbucket"


@dataclass(frozen=True)
class AccessStatus:
    """Who may read a prefix.

    Attributes
    ----------
    url
        The prefix asked about.
    public
        Whether an anonymous client may read objects under it (a real unsigned request
        decides; a policy alone could be shadowed by server settings).
    listable
        Whether an anonymous client may list it.
    statements
        Sids of brainbucket's policy statements for this prefix (empty when the policy could
        not be read or has none).
    """

    url: str
    public: bool
    listable: bool
    statements: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "public": self.public,
            "listable": self.listable,
            "statements": list(self.statements),
        }


def _bucket_store(
    url: str | os.PathLike[str] | StoreURL, settings: S3Settings
) -> tuple[Store, str]:
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    store = open_store(
        StoreURL("s3", parsed.bucket, "") if parsed.is_s3 else parsed, settings=settings
    )
    # A local folder has no policies at all; an S3 server without them is named by the
    # policy verbs themselves ("this server does not support bucket policies"), before any
    # change, while ``access`` still answers from its unsigned requests.
    if not store.capabilities.buckets:
        msg = f"{url}: only S3 prefixes can be public (a local folder has no bucket policy)"
        raise UsageError(msg, hint="use s3://bucket/prefix")
    return store, parsed.prefix.strip("/")


def _sids(prefix: str) -> tuple[str, str]:
    tag = hashlib.sha1(prefix.encode("utf-8")).hexdigest()[:16]
    return f"{SID_PREFIX}Read{tag}", f"{SID_PREFIX}List{tag}"


def public_statements(bucket: str, prefix: str) -> list[dict[str, Any]]:
    """The two policy statements that make ``s3://bucket/prefix`` publicly readable.

    Examples
    --------
    >>> [s["Action"] for s in public_statements("study", "derivatives")]
    [['s3:GetObject', 's3:GetObjectVersion'], 's3:ListBucket']
    """
    read_sid, list_sid = _sids(prefix)
    objects = f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
    listing: dict[str, Any] = {
        "Sid": list_sid,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [f"{prefix}/*", prefix]}}
    return [
        {
            "Sid": read_sid,
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": objects,
        },
        listing,
    ]


def publish(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> AccessStatus:
    """Make everything under ``url`` readable and listable by anyone, without credentials.

    Other statements of the bucket policy are kept; publishing the same prefix twice changes
    nothing.

    Raises
    ------
    AccessDeniedError
        These credentials may not change the bucket policy.
    UsageError
        The server has no bucket policies ("this server does not support bucket policies");
        nothing is changed.

    Examples
    --------
    >>> publish("s3://study/derivatives")  # doctest: +SKIP
    AccessStatus(url='s3://study/derivatives', public=True, listable=True, ...)
    """
    store, prefix = _bucket_store(url, _settings(profile, endpoint_url, settings))
    doc = store.get_policy()
    sids = set(_sids(prefix))
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") not in sids]
    doc["Statement"] += public_statements(store.url.bucket, prefix)
    doc.setdefault("Version", "2012-10-17")
    store.put_policy(doc)
    return _status(store, prefix, doc)


def unpublish(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> AccessStatus:
    """Remove what :func:`publish` added for ``url``; other statements stay.

    The prefix may stay public if something else grants it (a parent prefix was published,
    or the server allows anonymous reads of the whole bucket): the returned status says.

    Examples
    --------
    >>> unpublish("s3://study/derivatives").public  # doctest: +SKIP
    False
    """
    store, prefix = _bucket_store(url, _settings(profile, endpoint_url, settings))
    doc = store.get_policy()
    sids = set(_sids(prefix))
    kept = [s for s in doc["Statement"] if s.get("Sid") not in sids]
    if len(kept) != len(doc["Statement"]):
        doc["Statement"] = kept
        store.put_policy(doc)
    return _status(store, prefix, doc)


def is_public(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> AccessStatus:
    """Whether anyone may read ``url`` without credentials (asked of the server itself).

    Examples
    --------
    >>> is_public("s3://study/derivatives").public  # doctest: +SKIP
    False
    """
    settings = _settings(profile, endpoint_url, settings)
    store, prefix = _bucket_store(url, settings)
    doc: dict[str, Any] | None = None
    if not settings.anon:
        try:
            doc = store.get_policy()
        except (PermissionError, UsageError):
            # Not ours to read, or a server without policies: the anonymous probe answers.
            doc = None
    return _status(store, prefix, doc)


def _status(store: Store, prefix: str, doc: dict[str, Any] | None) -> AccessStatus:
    access = store.anonymous_access(prefix)
    sids = set(_sids(prefix))
    statements = [s["Sid"] for s in (doc or {}).get("Statement", []) if s.get("Sid") in sids]
    return AccessStatus(store.describe(prefix), access.readable, access.listable, statements)


def _settings(
    profile: str | None, endpoint_url: str | None, settings: S3Settings | None
) -> S3Settings:
    if settings is not None:
        return settings
    return S3Settings.from_options(profile=profile, endpoint_url=endpoint_url)
