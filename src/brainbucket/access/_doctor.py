"""``doctor``: which endpoint and credentials were used, exactly which request failed, and
what the server supports (the store's capabilities, probed where the API cannot say).

A feature the server lacks is not a failure: its request is shown as not applicable, and the
capability table says what brainbucket does instead."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import AccessDeniedError, BrainbucketError, BucketNotFoundError, UsageError
from .._url import StoreURL, parse_url
from ..store import S3Settings, Store, open_store

__all__ = ["Check", "DoctorReport", "doctor"]


@dataclass(frozen=True)
class Check:
    """One request and how it went (``applicable=False``: the server does not offer it, which
    is no failure)."""

    request: str
    ok: bool
    detail: str
    applicable: bool = True

    @property
    def mark(self) -> str:
        """``ok``, ``FAIL`` or ``n/a``, as the report shows it."""
        return "n/a" if not self.applicable else ("ok" if self.ok else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "ok": self.ok,
            "applicable": self.applicable,
            "detail": self.detail,
        }


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
    capabilities
        What the server supports: for each capability, ``supported`` (``None``: unknown),
        how that was found out, and what brainbucket does where it is missing.
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
    capabilities: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.applicable and not c.ok]

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
            "capabilities": self.capabilities,
        }


def _describe(err: BrainbucketError) -> str:
    return f"{type(err).__name__}: {err.message}"


def doctor(
    url: str | os.PathLike[str] | StoreURL,
    *,
    profile: str | None = None,
    anon: bool | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
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
    if settings is None:
        settings = S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)
    store = open_store(
        StoreURL("s3", parsed.bucket, "") if parsed.is_s3 else parsed, settings=settings
    )
    if not store.capabilities.buckets:
        msg = f"{url}: doctor checks S3 locations"
        raise UsageError(msg, hint="use s3://bucket/prefix")
    prefix = parsed.prefix.strip("/")
    report = DoctorReport(url=str(parsed), profile=settings.profile)

    def attempt(request: str, fn: Callable[[], str]) -> bool:
        try:
            detail = fn()
        except BrainbucketError as err:
            report.checks.append(Check(request, False, _describe(err)))
            return False
        report.checks.append(Check(request, True, detail))
        return True

    def where_and_who() -> str:
        report.endpoint = store.endpoint
        creds = store.credentials()
        report.credential_source, report.access_key_id = creds.source, creds.access_key_id
        return str(report.endpoint)

    if not attempt("resolve endpoint and credentials", where_and_who):
        return report
    signed = store.credentials().signed

    if signed:
        try:
            report.identity = store.whoami()
            report.checks.append(Check("sts:GetCallerIdentity", True, report.identity))
        except AccessDeniedError as err:
            report.checks.append(Check("sts:GetCallerIdentity", False, _describe(err)))
        except BrainbucketError as err:
            # Most S3-compatible servers have no identity service: not a failure there.
            on_aws = "amazonaws.com" in (report.endpoint or "")
            report.checks.append(
                Check(
                    "sts:GetCallerIdentity",
                    False,
                    _describe(err) if on_aws else f"no identity service here ({err.message})",
                    applicable=on_aws,
                )
            )

    def head_bucket() -> str:
        try:
            store.check_bucket()
        except BucketNotFoundError:
            report.bucket_exists = False
            raise
        report.bucket_exists = True
        return "the bucket exists and these credentials may use it"

    attempt("s3:HeadBucket", head_bucket)

    if signed and report.bucket_exists:

        def versioning() -> str:
            status = store.versioning()
            report.versioned = status == "Enabled"
            return f"versioning: {status or 'never enabled'}"

        attempt("s3:GetBucketVersioning", versioning)

    def list_prefix() -> str:
        n = store.count_listed(prefix)
        if report.bucket_exists is None:
            report.bucket_exists = True
        return f"listing allowed ({n} keys in the first page)"

    attempt(
        f"s3:ListObjectsV2 {prefix or '(bucket root)'}" + ("" if signed else " (unsigned)"),
        list_prefix,
    )

    if report.bucket_exists:
        _capabilities(store, report)
    if report.capabilities.get("anonymous", {}).get("supported") is False:
        report.public = False
        report.checks.append(
            Check(
                "anonymous read probe",
                True,
                "this server takes no unsigned requests: nothing in it is public",
                applicable=False,
            )
        )
        return report

    def probe() -> str:
        access = store.anonymous_access(prefix)
        report.public = access.readable
        listing = "allowed" if access.listable else "denied"
        return f"public: {'yes' if access.readable else 'no'} (list {listing}; {access.detail})"

    attempt("anonymous read probe", probe)
    return report


def _capabilities(store: Store, report: DoctorReport) -> None:
    """Ask the store every capability; one that cannot be found out is unknown, not a
    failure of the report (the requests above already say what failed)."""
    caps = store.capabilities
    for name in caps.names:
        try:
            supported = caps.answer(name)
        except BrainbucketError:
            supported = None
        report.capabilities[name] = {
            "supported": supported,
            "how": caps.how(name),
            "where_missing": caps.where_missing(name),
        }
