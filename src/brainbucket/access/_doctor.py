"""``doctor``: which endpoint and credentials were used, and exactly which request failed."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import BrainbucketError, BucketNotFoundError, UsageError
from .._url import StoreURL, parse_url
from ..store import S3Store, open_store
from ..store._errors import translate
from ._auth import has_credentials
from ._policy import anonymous_probe

__all__ = ["Check", "DoctorReport", "doctor"]


@dataclass(frozen=True)
class Check:
    """One request and how it went."""

    request: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "ok": self.ok, "detail": self.detail}


@dataclass
class DoctorReport:
    """What ``doctor`` found. Never holds a secret key.

    Attributes
    ----------
    url, endpoint, profile
        What was asked about, the endpoint used and the profile (``None``: the default chain).
    credential_source
        Where credentials came from (``env``, ``shared-credentials-file``...), or
        ``anonymous (unsigned)`` when none were found.
    access_key_id
        The access key id used (not secret), or ``None``.
    identity
        Who the server says we are (from ``GetCallerIdentity``), if it answers.
    bucket_exists, versioned, public
        ``None`` when the answer could not be found out.
    checks
        Every request made, in order, with the outcome.
    """

    url: str
    endpoint: str | None = None
    profile: str | None = None
    credential_source: str = "none found"
    access_key_id: str | None = None
    identity: str | None = None
    bucket_exists: bool | None = None
    versioned: bool | None = None
    public: bool | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "endpoint": self.endpoint,
            "profile": self.profile,
            "credential_source": self.credential_source,
            "access_key_id": self.access_key_id,
            "identity": self.identity,
            "bucket_exists": self.bucket_exists,
            "versioned": self.versioned,
            "public": self.public,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


def _describe(err: BrainbucketError) -> str:
    return f"{type(err).__name__}: {err.message}"


def doctor(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    anon: bool | None = None,
    endpoint_url: str | None = None,
) -> DoctorReport:
    """Diagnose access to ``url``: every request is tried once and its outcome recorded.

    Never raises for a failed request (that is what the report is for); raises only for a
    URL it cannot understand or a profile that does not exist.

    Examples
    --------
    >>> r = doctor("s3://study")  # doctest: +SKIP
    >>> r.bucket_exists, [c.request for c in r.failed]  # doctest: +SKIP
    (True, [])
    """
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if not parsed.is_s3:
        msg = f"{url}: doctor checks S3 locations"
        raise UsageError(msg, hint="use s3://bucket/prefix")
    if anon is None:
        anon = profile is None and not has_credentials(profile)
    store = open_store(
        StoreURL("s3", parsed.bucket, ""), profile=profile, anon=anon, endpoint_url=endpoint_url
    )
    assert isinstance(store, S3Store)
    prefix = parsed.prefix.strip("/")
    report = DoctorReport(url=str(parsed), profile=profile)
    session = store.session

    def attempt(request: str, fn: Callable[[], str]) -> bool:
        try:
            detail = fn()
        except Exception as exc:
            err = translate(exc, str(parsed), anon=store.anon)
            report.checks.append(Check(request, False, _describe(err)))
            return False
        report.checks.append(Check(request, True, detail))
        return True

    def endpoint() -> str:
        report.endpoint = session.endpoint_url
        return report.endpoint

    if not attempt("resolve endpoint and credentials", endpoint):
        return report
    report.credential_source = session.credential_source()
    report.access_key_id = session.access_key_id()

    if not store.anon:

        def whoami() -> str:
            import botocore.config

            sts = session.boto.client(
                "sts",
                endpoint_url=session.endpoint_url,
                region_name=session.region,
                config=botocore.config.Config(retries={"total_max_attempts": 2}),
            )
            report.identity = str(sts.get_caller_identity().get("Arn"))
            return report.identity

        attempt("sts:GetCallerIdentity", whoami)

    def head_bucket() -> str:
        try:
            store.client.head_bucket(Bucket=store.bucket)
        except Exception as exc:
            err = translate(exc, f"s3://{store.bucket}", anon=store.anon)
            if isinstance(err, FileNotFoundError):
                # HEAD answers carry no error code: a 404 on a bucket means no such bucket.
                report.bucket_exists = False
                msg = f"s3://{store.bucket}: no such bucket"
                raise BucketNotFoundError(msg) from exc
            raise err from exc
        report.bucket_exists = True
        return "the bucket exists and these credentials may use it"

    attempt("s3:HeadBucket", head_bucket)

    if not store.anon and report.bucket_exists:

        def versioning() -> str:
            status = store.versioning()
            report.versioned = status == "Enabled"
            return f"versioning: {status or 'never enabled'}"

        attempt("s3:GetBucketVersioning", versioning)

    def list_prefix() -> str:
        page = store.client.list_objects_v2(
            Bucket=store.bucket, Prefix=f"{prefix}/" if prefix else "", MaxKeys=5
        )
        if report.bucket_exists is None:
            report.bucket_exists = True
        return f"listing allowed ({page.get('KeyCount', 0)} keys in the first page)"

    attempt(
        f"s3:ListObjectsV2 {prefix or '(bucket root)'}" + (" (unsigned)" if store.anon else ""),
        list_prefix,
    )

    def probe() -> str:
        listable, readable, detail = anonymous_probe(store, prefix)
        report.public = readable
        return f"public: {'yes' if readable else 'no'} (list {'allowed' if listable else 'denied'}; {detail})"

    attempt("anonymous read probe", probe)
    return report
