"""The S3 control plane: buckets, versioning, versions, presigned URLs, bucket policies, and
what anyone (or we) may do. These go through boto3, where the ecosystem's credential chain
and behaviour are expected; every answer leaves as a typed value or a brainbucket error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import obstore

from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    BucketNotFoundError,
    BucketOwnedByOthersError,
    EndpointError,
    NoCredentialsError,
    ServerError,
    UsageError,
)
from .._types import AnonymousAccess, BucketInfo, VersionInfo
from ._errors import is_unsigned_refusal, not_supported, translate
from ._s3_core import S3Core, etag_of
from ._s3_list import is_invalid_path
from ._session import Session
from ._settings import S3Settings

__all__ = ["S3Control", "list_buckets", "no_policies", "no_versioning"]

_EMPTY_POLICY = "2012-10-17"


def no_versioning(what: str, bucket: str) -> UsageError:
    """The server has no object versions: what that costs, in the hint.

    Examples
    --------
    >>> str(no_versioning("s3://lab", "lab"))
    's3://lab: this server does not support object versioning'
    """
    return not_supported(
        what,
        "object versioning",
        hint="the bucket works without it, but an overwritten or deleted file cannot be "
        "brought back and reads cannot be pinned to a version (assemblies are kept apart by "
        f"sha1 instead); `brainbucket mb s3://{bucket} --no-versioning` does not ask for it",
    )


def no_policies(what: str, bucket: str) -> UsageError:
    """The server has no bucket policies, so nothing can be made public by prefix.

    Examples
    --------
    >>> str(no_policies("s3://lab", "lab"))
    's3://lab: this server does not support bucket policies'
    """
    return not_supported(
        what,
        "bucket policies",
        hint=f"no prefix can be made public there; `brainbucket share s3://{bucket}/KEY` "
        "gives a link to one object that works without credentials",
    )


def _answer(exc: BaseException) -> tuple[str, int]:
    """The error code and HTTP status of a botocore error (``("", 0)`` if it has none)."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code, status


def _said(exc: BaseException) -> str:
    """An error answer in a few words: ``HTTP 400 (UnsupportedAlgorithm)``."""
    code, status = _answer(exc)
    return f"HTTP {status}" + (f" ({code})" if code and code != str(status) else "")


def _unimplemented(exc: BaseException) -> bool:
    """Whether the server answered that it does not implement the request."""
    code, status = _answer(exc)
    return code == "NotImplemented" or status == 501


def list_buckets(settings: S3Settings) -> list[BucketInfo]:
    """The buckets of the account the settings' credentials belong to, on their server.

    What ``s3://`` (no bucket) lists, as ``aws s3 ls`` does.

    Parameters
    ----------
    settings
        Which server and which credentials.

    Returns
    -------
    list of BucketInfo
        In the server's order (by name), with their creation times.

    Raises
    ------
    CredentialsError
        No credentials, or unsigned (``anon``): listing buckets needs an account.
    """
    session = Session(settings)
    what = "s3://"
    session.check_reachable(what)
    try:
        answer = session.client.list_buckets()
    except Exception as exc:
        err = translate(exc, what, anon=session.anon)
        if type(err) is EndpointError:
            raise session.unreachable(what) from exc
        if isinstance(err, NoCredentialsError):
            # The usual hint offers --anon for public data: no use here, buckets have owners.
            msg = "s3://: listing your buckets needs credentials, and none were found"
            raise NoCredentialsError(
                msg,
                hint="pass --profile NAME or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY); a public bucket is listed by its name: "
                "`brainbucket ls s3://BUCKET --anon`",
            ) from exc
        raise err from exc
    return [BucketInfo(b["Name"], b.get("CreationDate")) for b in answer.get("Buckets", [])]


class S3Control(S3Core):
    """The control-plane part of :class:`~brainbucket.store.S3Store`."""

    # -- buckets ----------------------------------------------------------------------------

    def bucket_exists(self) -> bool:
        try:
            # A listing of at most one key asks what HEAD bucket asks (same permission, same
            # NoSuchBucket), without loading boto3: ~0.5 s saved on the first sync to a bucket.
            next(iter(obstore.list(self.obs, chunk_size=1)), None)
        except Exception as exc:
            if is_invalid_path(exc):
                return True  # it listed a key the data path cannot represent: it exists
            err = self._err(exc)
            if isinstance(err, FileNotFoundError):
                return False
            raise err from exc
        return True

    def list_buckets(self) -> list[str]:
        """Names of the buckets these credentials own (a signed request to the service)."""
        try:
            return [b["Name"] for b in self.client.list_buckets().get("Buckets", [])]
        except Exception as exc:
            raise self._err(exc) from exc

    def check_bucket(self) -> None:
        """Ask the server about the bucket itself (``HeadBucket``): exists, and ours to use.

        Raises
        ------
        BucketNotFoundError
            No such bucket.
        """
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            err = translate(exc, f"s3://{self.bucket}", anon=self.anon)
            if isinstance(err, FileNotFoundError):
                # HEAD answers carry no error code: a 404 on a bucket means no such bucket.
                raise BucketNotFoundError.named(self.describe()) from exc
            raise err from exc

    def create_bucket(self, *, versioning: bool = True) -> bool:
        """Create the bucket (versioned by default); returns False if it already was yours.

        The server is asked first (``HeadBucket``): servers answer ``CreateBucket`` of a
        bucket one already owns in different ways (AWS in us-east-1 and moto: 200, as if
        created; rclone: ``BucketAlreadyExists``, as for someone else's).

        Raises
        ------
        BucketOwnedByOthersError
            The name is taken by another account.
        UsageError
            Versioning was asked for and the server has none; the bucket exists all the same
            (:meth:`set_versioning` says what that costs).
        """
        created = False
        if not self._bucket_is_ours():
            created = self._create()
        if versioning:
            self.set_versioning(True)
        return created

    def _bucket_is_ours(self) -> bool:
        """Whether the bucket exists and these credentials may use it (``HeadBucket``).

        A 403 (someone else's, or not ours to see) is ``False``: ``CreateBucket`` then says
        whose it is.
        """
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            err = self._err(exc)
            if isinstance(err, FileNotFoundError) or type(err) is AccessDeniedError:
                return False
            raise err from exc
        return True

    def _create(self) -> bool:
        """``CreateBucket``; ``False`` when the bucket turns out to be ours already (made by
        another run meanwhile, or a server that calls our own bucket "already exists")."""
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except Exception as exc:
            code, _ = _answer(exc)
            if code == "BucketAlreadyOwnedByYou":
                return False
            if code == "BucketAlreadyExists":
                if self._bucket_is_ours():
                    return False
                msg = f"s3://{self.bucket}: the bucket name is taken by another account"
                raise BucketOwnedByOthersError(msg) from exc
            raise self._err(exc) from exc
        return True

    def set_versioning(self, enabled: bool) -> None:
        """Turn versioning on, or suspend it.

        Raises
        ------
        UsageError
            Turning it on, on a server without object versions (suspending it there is
            already the case, and no error).
        """
        try:
            self.client.put_bucket_versioning(
                Bucket=self.bucket,
                VersioningConfiguration={"Status": "Enabled" if enabled else "Suspended"},
            )
        except Exception as exc:
            if _unimplemented(exc):
                if not enabled:
                    return
                raise no_versioning(self.describe(), self.bucket) from exc
            raise self._err(exc) from exc
        finally:
            self.capabilities.forget("versioning")

    def versioning(self) -> str | None:
        """``"Enabled"``, ``"Suspended"`` or ``None`` (never enabled)."""
        try:
            return self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except Exception as exc:
            raise self._err(exc) from exc

    def versions(self, path: str) -> list[VersionInfo]:
        key = self.key(path)
        out: list[VersionInfo] = []
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key
            )
            for page in pages:
                for v in page.get("Versions", []):
                    if v["Key"] == key:
                        out.append(self._version(v, False))
                for v in page.get("DeleteMarkers", []):
                    if v["Key"] == key:
                        out.append(self._version(v, True))
        except Exception as exc:
            if _unimplemented(exc):
                raise no_versioning(self.describe(path), self.bucket) from exc
            raise self._err(exc, path) from exc
        out.sort(key=lambda v: v.last_modified or datetime.min.replace(tzinfo=None), reverse=True)
        return out

    def _version(self, v: dict[str, Any], marker: bool) -> VersionInfo:
        return VersionInfo(
            path=self._rel(v["Key"]),
            version_id=str(v.get("VersionId")),
            size=int(v.get("Size", 0)),
            last_modified=v.get("LastModified"),
            is_latest=bool(v.get("IsLatest")),
            etag=etag_of(v.get("ETag")),
            is_delete_marker=marker,
        )

    def count_listed(self, path: str = "", *, limit: int = 5) -> int:
        """How many keys the first page of a listing under ``path`` holds (at most ``limit``)."""
        prefix = self.key(path)
        try:
            page = self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=f"{prefix}/" if prefix else "", MaxKeys=limit
            )
        except Exception as exc:
            raise self._err(exc, path) from exc
        return int(page.get("KeyCount", 0))

    # -- links ------------------------------------------------------------------------------

    def presign(self, path: str, *, expires: timedelta | int = 3600) -> str:
        seconds = int(expires.total_seconds()) if isinstance(expires, timedelta) else int(expires)
        if seconds <= 0 or seconds > 7 * 24 * 3600:
            msg = "presigned URLs last between 1 second and 7 days"
            raise UsageError(msg)
        if self.anon:
            msg = "cannot presign without credentials"
            raise UsageError(msg, hint="pass --profile NAME or set AWS credentials")
        try:
            return str(
                self.client.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": self.key(path)},
                    ExpiresIn=seconds,
                )
            )
        except Exception as exc:
            raise self._err(exc, path) from exc

    # -- who may do what --------------------------------------------------------------------

    def get_policy(self) -> dict[str, Any]:
        """The bucket policy (no policy: no statements).

        Raises
        ------
        UsageError
            The server has no bucket policies: it answers ``NotImplemented``, or something
            that is not a policy document (rclone answers a bucket listing).
        """
        try:
            raw = self.client.get_bucket_policy(Bucket=self.bucket)["Policy"]
        except Exception as exc:
            code, _ = _answer(exc)
            if code == "NoSuchBucketPolicy":
                return {"Version": _EMPTY_POLICY, "Statement": []}
            if _unimplemented(exc):
                raise no_policies(self.describe(), self.bucket) from exc
            raise self._err(exc) from exc
        try:
            doc = json.loads(raw)
        except (TypeError, ValueError):
            doc = None
        # A server with policies refuses a document that is not one when it is put, so an
        # answer that is not one says the server does not keep policies at all.
        if not isinstance(doc, dict):
            raise no_policies(self.describe(), self.bucket)
        statements = doc.get("Statement", [])
        doc["Statement"] = statements if isinstance(statements, list) else [statements]
        return dict(doc)

    def put_policy(self, document: dict[str, Any]) -> None:
        """Replace the bucket policy (a document without statements deletes it).

        Callers read the policy first (:meth:`get_policy`), which refuses servers without
        policies: rclone takes a policy request for a bucket request, so none must reach it.
        """
        try:
            if document.get("Statement"):
                self.client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(document))
            else:
                self.client.delete_bucket_policy(Bucket=self.bucket)
        except Exception as exc:
            if _unimplemented(exc) or _answer(exc)[0] == "BucketAlreadyExists":
                raise no_policies(self.describe(), self.bucket) from exc
            raise self._err(exc) from exc

    def anonymous_access(self, prefix: str = "") -> AnonymousAccess:
        """Ask the server as a client without credentials: may it list ``prefix``, and read
        an object there? Real unsigned requests decide, not the policy: server settings can
        shadow a policy either way.

        The read is a GET of the object's first byte, not a HEAD: some servers refuse an
        unsigned HEAD that the policy allows (moto), and a HEAD's answer carries no error
        code to tell why.

        Raises
        ------
        BrainbucketError
            The server answered something that is neither "allowed" nor "refused" (a server
            error, say): the message names the request and the answer.
        """
        client = self._reached().anonymous_client()
        full = self.key(prefix)
        list_prefix = f"{full}/" if full else ""
        key: str | None = None
        try:
            page = client.list_objects_v2(Bucket=self.bucket, Prefix=list_prefix, MaxKeys=1)
            listable = True
            contents = page.get("Contents") or []
            key = contents[0]["Key"] if contents else None
        except Exception as exc:
            if not is_unsigned_refusal(*_answer(exc)):
                raise self._probe_err(exc, prefix, "an anonymous listing") from exc
            listable = False
        if key is None:
            # Nothing listed to read: a GET of a name that cannot exist tells "refused" from
            # "allowed but absent" (403 vs 404).
            key = f"{list_prefix}.brainbucket-access-probe"
        try:
            answer = client.get_object(Bucket=self.bucket, Key=key, Range="bytes=0-0")
            answer["Body"].close()  # one byte asked for; nothing to read or check
            status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return AnonymousAccess(listable, True, f"anonymous read of {key}: HTTP {status}")
        except Exception as exc:
            code, status = _answer(exc)
            # 404: allowed, and absent; 416: allowed, and empty (a range past its end).
            if (status == 404 and code != "NoSuchBucket") or status == 416:
                return AnonymousAccess(listable, True, f"anonymous read of {key}: HTTP {status}")
            if is_unsigned_refusal(code, status):
                return AnonymousAccess(listable, False, f"anonymous read of {key}: {_said(exc)}")
            raise self._probe_err(exc, prefix, f"an anonymous read of {key}") from exc

    def _probe_err(self, exc: BaseException, prefix: str, request: str) -> BrainbucketError:
        """Neither "allowed" nor "refused": say what the server answered."""
        code, status = _answer(exc)
        if not status or code == "NoSuchBucket":
            return self._err(exc, prefix)  # no answer at all, or no such bucket: as any request
        # A server failing (5xx, after the client's retries) is exit 10 like any other.
        cls = ServerError if status >= 500 else BrainbucketError
        return cls(
            f"{self.describe(prefix)}: cannot tell whether it is public: {request} answered "
            + _said(exc),
            hint=f"`brainbucket doctor {self.describe(prefix)}` shows what the server answers "
            "to each request",
        )

    def whoami(self) -> str:
        """Who the server says these credentials are (STS ``GetCallerIdentity``'s ARN)."""
        try:
            return str(self._reached().sts_client().get_caller_identity().get("Arn"))
        except Exception as exc:
            raise self._err(exc) from exc
