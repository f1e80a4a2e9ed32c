"""Presigned GET URLs that name a version: AWS Signature Version 4, query form.

The data path's client signs URLs for the current version of an object only; a read pinned to
a version (a manifest entry's own, a snapshot's) needs ``versionId`` among the signed query
parameters. Signing is a few HMACs: the day's signing key is derived once and kept, so a URL
costs tens of microseconds, and a pinned read takes the same fast HTTP readers as any other.

References: the SigV4 query-string authentication of Amazon S3 ("Authenticating Requests:
Using Query Parameters"), which every S3-compatible server implements.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["Presigner"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"


def _quote(text: str, safe: str = _UNRESERVED) -> str:
    return urllib.parse.quote(text, safe=safe)


class Presigner:
    """Sign GET URLs of one bucket, optionally pinned to an object version.

    Parameters
    ----------
    endpoint
        The endpoint URL (``http://127.0.0.1:8333``, ``https://s3.eu-west-1.amazonaws.com``).
    bucket
        The bucket.
    region
        The region the signature is scoped to.
    path_style
        Bucket in the path (any server but AWS) rather than in the host name.
    credentials
        Returns ``{"access_key_id", "secret_access_key", "token"}`` (the data path's
        credential provider: static keys, or boto3's refreshing ones).

    Examples
    --------
    >>> keys = lambda: {"access_key_id": "AKID", "secret_access_key": "secret", "token": None}
    >>> p = Presigner("http://127.0.0.1:8333", "study", "us-east-1", True, keys)
    >>> url = p.sign("sub-01/a b.nii.gz", version_id="v1", now=datetime(2026, 1, 2, 3, 4, 5))
    >>> url.split("?")[0]
    'http://127.0.0.1:8333/study/sub-01/a%20b.nii.gz'
    >>> "versionId=v1" in url and "X-Amz-Signature=" in url
    True
    """

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        region: str,
        path_style: bool,
        credentials: Callable[[], Mapping[str, Any]],
    ) -> None:
        parts = urllib.parse.urlsplit(endpoint)
        self._scheme = parts.scheme
        self._host = parts.netloc if path_style else f"{bucket}.{parts.netloc}"
        base = parts.path.rstrip("/")
        self._prefix = f"{base}/{bucket}/" if path_style else f"{base}/"
        self._region = region
        self._credentials = credentials
        self._lock = threading.Lock()
        self._keys: tuple[str, str, bytes] | None = None  # (access key, day, signing key)

    def _signing_key(self, secret: str, access_key: str, day: str) -> bytes:
        with self._lock:
            if self._keys is not None and self._keys[:2] == (access_key, day):
                return self._keys[2]
            key = hmac.digest(f"AWS4{secret}".encode(), day.encode(), "sha256")
            for part in (self._region, "s3", "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self._keys = (access_key, day, key)
            return key

    def sign(
        self,
        key: str,
        *,
        version_id: str | None = None,
        expires: int = 3600,
        now: datetime | None = None,
    ) -> str:
        """A presigned GET URL of ``key`` (of its version ``version_id``, when given)."""
        creds = self._credentials()
        access_key = str(creds["access_key_id"])
        when = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
        day = when[:8]
        scope = f"{day}/{self._region}/s3/aws4_request"
        params = {
            "X-Amz-Algorithm": _ALGORITHM,
            "X-Amz-Credential": f"{access_key}/{scope}",
            "X-Amz-Date": when,
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": "host",
        }
        if creds.get("token"):
            params["X-Amz-Security-Token"] = str(creds["token"])
        if version_id is not None:
            params["versionId"] = version_id
        query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params.items()))
        path = _quote(self._prefix + key, safe="/" + _UNRESERVED)
        canonical = f"GET\n{path}\n{query}\nhost:{self._host}\n\nhost\nUNSIGNED-PAYLOAD"
        to_sign = "\n".join(
            (_ALGORITHM, when, scope, hashlib.sha256(canonical.encode()).hexdigest())
        )
        signing_key = self._signing_key(str(creds["secret_access_key"]), access_key, day)
        signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{self._scheme}://{self._host}{path}?{query}&X-Amz-Signature={signature}"
