"""Make a prefix publicly readable through the bucket policy, and back.

Object ACLs are stored but not enforced by every S3 server; bucket policies are. Publishing
adds two statements with their own Sids (derived from the prefix), leaving every other
statement alone: anonymous GetObject/GetObjectVersion on ``prefix/*`` and ListBucket limited
to that prefix by an ``s3:prefix`` condition.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import ManifestError, UsageError
from .._url import StoreURL, parse_url
from ..store import S3Store, open_store
from ..store._errors import translate

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


def _bucket_store(url: str | os.PathLike[str] | StoreURL, **kwargs: Any) -> tuple[S3Store, str]:
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if not parsed.is_s3:
        msg = f"{url}: only S3 prefixes can be public (a local folder has no bucket policy)"
        raise UsageError(msg, hint="use s3://bucket/prefix")
    store = open_store(StoreURL("s3", parsed.bucket, ""), **kwargs)
    assert isinstance(store, S3Store)
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


def _get_policy(store: S3Store) -> dict[str, Any]:
    try:
        raw = store.client.get_bucket_policy(Bucket=store.bucket)["Policy"]
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "NoSuchBucketPolicy":
            return {"Version": "2012-10-17", "Statement": []}
        raise translate(exc, store.describe(), anon=store.anon) from exc
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        msg = f"s3://{store.bucket}: the bucket policy is not valid JSON"
        raise ManifestError(msg, hint="fix or delete the bucket policy by hand") from exc
    statements = doc.get("Statement", [])
    doc["Statement"] = statements if isinstance(statements, list) else [statements]
    return doc


def _put_policy(store: S3Store, doc: dict[str, Any]) -> None:
    try:
        if doc["Statement"]:
            store.client.put_bucket_policy(Bucket=store.bucket, Policy=json.dumps(doc))
        else:
            store.client.delete_bucket_policy(Bucket=store.bucket)
    except Exception as exc:
        raise translate(exc, store.describe(), anon=store.anon) from exc


def publish(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> AccessStatus:
    """Make everything under ``url`` readable and listable by anyone, without credentials.

    Other statements of the bucket policy are kept; publishing the same prefix twice changes
    nothing.

    Raises
    ------
    AccessDeniedError
        These credentials may not change the bucket policy.

    Examples
    --------
    >>> publish("s3://study/derivatives")  # doctest: +SKIP
    AccessStatus(url='s3://study/derivatives', public=True, listable=True, ...)
    """
    store, prefix = _bucket_store(url, profile=profile, endpoint_url=endpoint_url)
    doc = _get_policy(store)
    sids = set(_sids(prefix))
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") not in sids]
    doc["Statement"] += public_statements(store.bucket, prefix)
    doc.setdefault("Version", "2012-10-17")
    _put_policy(store, doc)
    return _status(store, prefix, doc)


def unpublish(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> AccessStatus:
    """Remove what :func:`publish` added for ``url``; other statements stay.

    The prefix may stay public if something else grants it (a parent prefix was published,
    or the server allows anonymous reads of the whole bucket): the returned status says.

    Examples
    --------
    >>> unpublish("s3://study/derivatives").public  # doctest: +SKIP
    False
    """
    store, prefix = _bucket_store(url, profile=profile, endpoint_url=endpoint_url)
    doc = _get_policy(store)
    sids = set(_sids(prefix))
    kept = [s for s in doc["Statement"] if s.get("Sid") not in sids]
    if len(kept) != len(doc["Statement"]):
        doc["Statement"] = kept
        _put_policy(store, doc)
    return _status(store, prefix, doc)


def _anon_client(store: S3Store) -> Any:
    import botocore
    from botocore.config import Config as BotoConfig

    cfg = BotoConfig(
        signature_version=botocore.UNSIGNED,
        s3={
            "addressing_style": "path"
            if store.session._custom_endpoint(store.session._resolved_endpoint())
            else "auto"
        },
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=10,
        read_timeout=30,
    )
    # The store's own session has the service model loaded already: a second client from it
    # costs a fraction of a fresh session's. UNSIGNED means its credentials are never used.
    return store.session.boto.client(
        "s3", endpoint_url=store.session.endpoint_url, region_name=store.session.region, config=cfg
    )


def anonymous_probe(store: S3Store, prefix: str) -> tuple[bool, bool, str]:
    """Ask the server as an anonymous client: may it list ``prefix``, and read an object?

    Returns ``(listable, readable, detail)``.
    """
    client = _anon_client(store)
    list_prefix = f"{prefix}/" if prefix else ""
    key: str | None = None
    try:
        page = client.list_objects_v2(Bucket=store.bucket, Prefix=list_prefix, MaxKeys=1)
        listable = True
        contents = page.get("Contents") or []
        key = contents[0]["Key"] if contents else None
    except Exception as exc:
        err = translate(exc, store.describe(prefix), anon=True)
        if not isinstance(err, PermissionError):
            raise err from exc
        listable = False
    if key is None:
        # Nothing listed to read: a GET of a name that cannot exist tells "denied" from
        # "allowed but absent" (403 vs 404).
        key = f"{list_prefix}.brainbucket-access-probe"
    try:
        client.head_object(Bucket=store.bucket, Key=key)
        readable, detail = True, f"anonymous read of {key} allowed"
    except Exception as exc:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        readable = status == 404
        detail = f"anonymous read of {key}: HTTP {status}"
    return listable, readable, detail


def is_public(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> AccessStatus:
    """Whether anyone may read ``url`` without credentials (asked of the server itself).

    Examples
    --------
    >>> is_public("s3://study/derivatives").public  # doctest: +SKIP
    False
    """
    store, prefix = _bucket_store(url, profile=profile, endpoint_url=endpoint_url)
    doc: dict[str, Any] | None = None
    if not store.anon:
        try:
            doc = _get_policy(store)
        except PermissionError:
            doc = None  # may not read the policy: the anonymous probe still answers
    return _status(store, prefix, doc)


def _status(store: S3Store, prefix: str, doc: dict[str, Any] | None) -> AccessStatus:
    listable, readable, _ = anonymous_probe(store, prefix)
    sids = set(_sids(prefix))
    statements = [s["Sid"] for s in (doc or {}).get("Statement", []) if s.get("Sid") in sids]
    url = f"s3://{store.bucket}/{prefix}" if prefix else f"s3://{store.bucket}"
    return AccessStatus(url, readable, listable, statements)
