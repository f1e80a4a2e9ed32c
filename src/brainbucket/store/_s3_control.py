"""The S3 control plane: buckets, versioning, versions, presigned URLs, bucket policies, and
what anyone (or we) may do. These go through boto3, where the ecosystem's credential chain
and behaviour are expected; every answer leaves as a typed value or a brainbucket error."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import obstore

from .._exceptions import (
    BucketNotFoundError,
    BucketOwnedByOthersError,
    EndpointError,
    ManifestError,
    NoCredentialsError,
    UsageError,
)
from .._types import AnonymousAccess, BucketInfo, VersionInfo
from ._errors import translate
from ._s3_core import S3Core, etag_of
from ._s3_list import is_invalid_path
from ._session import Session
from ._settings import S3Settings

__all__ = ["S3Control", "list_buckets"]

_EMPTY_POLICY = "2012-10-17"


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
        """Create the bucket (versioned by default); returns False if it already was yours."""
        created = True
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "BucketAlreadyOwnedByYou":
                created = False
            elif code == "BucketAlreadyExists":
                msg = f"s3://{self.bucket}: the bucket name is taken by another account"
                raise BucketOwnedByOthersError(msg) from exc
            else:
                raise self._err(exc) from exc
        if versioning:
            self.set_versioning(True)
        return created

    def set_versioning(self, enabled: bool) -> None:
        try:
            self.client.put_bucket_versioning(
                Bucket=self.bucket,
                VersioningConfiguration={"Status": "Enabled" if enabled else "Suspended"},
            )
        except Exception as exc:
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
        try:
            raw = self.client.get_bucket_policy(Bucket=self.bucket)["Policy"]
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "NoSuchBucketPolicy":
                return {"Version": _EMPTY_POLICY, "Statement": []}
            raise self._err(exc) from exc
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            msg = f"s3://{self.bucket}: the bucket policy is not valid JSON"
            raise ManifestError(msg, hint="fix or delete the bucket policy by hand") from exc
        statements = doc.get("Statement", [])
        doc["Statement"] = statements if isinstance(statements, list) else [statements]
        return dict(doc)

    def put_policy(self, document: dict[str, Any]) -> None:
        try:
            if document.get("Statement"):
                self.client.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(document))
            else:
                self.client.delete_bucket_policy(Bucket=self.bucket)
        except Exception as exc:
            raise self._err(exc) from exc

    def anonymous_access(self, prefix: str = "") -> AnonymousAccess:
        """Ask the server as a client without credentials: may it list ``prefix``, and read
        an object there? A real unsigned request decides, not the policy: server settings
        can shadow a policy either way."""
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
            err = translate(exc, self.describe(prefix), anon=True)
            if not isinstance(err, PermissionError):
                raise err from exc
            listable = False
        if key is None:
            # Nothing listed to read: a GET of a name that cannot exist tells "denied" from
            # "allowed but absent" (403 vs 404).
            key = f"{list_prefix}.brainbucket-access-probe"
        try:
            client.head_object(Bucket=self.bucket, Key=key)
            readable, detail = True, f"anonymous read of {key} allowed"
        except Exception as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            readable = status == 404
            detail = f"anonymous read of {key}: HTTP {status}"
        return AnonymousAccess(listable, readable, detail)

    def whoami(self) -> str:
        """Who the server says these credentials are (STS ``GetCallerIdentity``'s ARN)."""
        try:
            return str(self._reached().sts_client().get_caller_identity().get("Arn"))
        except Exception as exc:
            raise self._err(exc) from exc
