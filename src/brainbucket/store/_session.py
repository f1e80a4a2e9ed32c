"""Endpoints and credentials: boto3 for the control plane, obstore for bulk data.

The credential chain is boto3's (environment, ``--profile``, config files), always through a
private ``boto3.session.Session`` — never the global default session. obstore gets its
credentials from this module too: left alone it ignores ``AWS_PROFILE`` and falls through to
instance metadata.

boto3 is imported only when needed. Region, endpoint and static keys (environment variables,
a profile's keys in the AWS files) are read without it (``_awsconfig``), exactly as boto3
reads them, so listing, reading and syncing start in a fraction of the time. Anything that
only boto3 can resolve (roles, SSO, credential processes, instance metadata...) goes through
boto3 as before, and obstore then gets refreshing credentials from the boto3 session.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._exceptions import InvalidURLError, NoCredentialsError
from ._awsconfig import AwsConfig, NeedsBoto, StaticCredentials, profile_not_found

if TYPE_CHECKING:
    import boto3

__all__ = ["S3Settings", "Session", "backoff_delay"]

_DEFAULT_REGION = "us-east-1"


def _retries() -> int:
    raw = os.environ.get("BRAINBUCKET_RETRIES", "").strip()
    return int(raw) if raw.isdigit() else 5


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential, full jitter.

    The same curve as the data path's own retries (100 ms doubling, capped at 8 s); the jitter
    keeps many clients that failed together from retrying together.
    """
    return random.uniform(0, min(8.0, 0.1 * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3 endpoint.

    Attributes
    ----------
    endpoint_url
        Explicit endpoint (``--endpoint-url``); else ``BRAINBUCKET_ENDPOINT_URL``; else the
        AWS config's ``endpoint_url``; else AWS itself.
    profile
        AWS profile name (``--profile``); else the chain's default (``AWS_PROFILE``...).
    anon
        Unsigned requests, for public data.
    region
        Region; else the profile's, else ``us-east-1``.
    """

    endpoint_url: str | None = None
    profile: str | None = None
    anon: bool = False
    region: str | None = None

    def __repr__(self) -> str:  # keys never live here, but keep the repr short anyway
        return (
            f"S3Settings(endpoint_url={self.endpoint_url!r}, profile={self.profile!r}, "
            f"anon={self.anon!r})"
        )


@dataclass
class Session:
    """A boto3 session, its S3 client and the matching obstore settings, created lazily."""

    settings: S3Settings
    _boto: Any = field(default=None, repr=False)
    _client: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # The AWS settings read without boto3; None when only boto3 can read them.
    _aws: AwsConfig | None = field(default=None, repr=False)
    _aws_read: bool = field(default=False, repr=False)

    @property
    def boto(self) -> boto3.session.Session:
        if self._boto is None:
            import boto3
            import botocore.exceptions

            try:
                self._boto = boto3.session.Session(profile_name=self.settings.profile)
            except botocore.exceptions.ProfileNotFound as exc:
                name = self.settings.profile or getattr(exc, "kwargs", {}).get("profile")
                raise profile_not_found(name) from exc
        return self._boto

    def _aws_config(self) -> AwsConfig | None:
        """The AWS settings read without boto3, or ``None`` if boto3 must read them."""
        if not self._aws_read:
            try:
                self._aws = AwsConfig(self.settings.profile)
            except NeedsBoto:
                self._aws = None
            self._aws_read = True
        return self._aws

    @property
    def region(self) -> str:
        if self.settings.region:
            return self.settings.region
        aws = self._aws_config()
        if aws is not None:
            return aws.region() or _DEFAULT_REGION
        return self.boto.region_name or _DEFAULT_REGION

    def _resolved_endpoint(self) -> str | None:
        if self.settings.endpoint_url:
            return self.settings.endpoint_url
        env = os.environ.get("BRAINBUCKET_ENDPOINT_URL")
        if env:
            return env
        return None  # botocore itself reads endpoint_url from the AWS config

    @property
    def client(self) -> Any:
        """The boto3 S3 client (control plane)."""
        with self._lock:
            if self._client is None:
                import botocore
                import botocore.exceptions
                from botocore.config import Config as BotoConfig

                endpoint = self._resolved_endpoint()
                cfg = BotoConfig(
                    signature_version=botocore.UNSIGNED if self.settings.anon else "s3v4",
                    s3={
                        "addressing_style": "path" if self._custom_endpoint(endpoint) else "auto",
                        # Bodies sent through boto3 (multipart parts) carry a checksum the
                        # server verifies; hashing them again with SHA-256 to sign them
                        # costs ~40 ms per 16 MiB part on CPUs without SHA instructions.
                        "payload_signing_enabled": False,
                    },
                    retries={"mode": "standard", "total_max_attempts": _retries() + 1},
                    connect_timeout=10,
                    read_timeout=60,
                    max_pool_connections=64,
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                )
                try:
                    self._client = self.boto.client(
                        "s3", endpoint_url=endpoint, region_name=self.region, config=cfg
                    )
                except botocore.exceptions.ProfileNotFound as exc:
                    raise profile_not_found(self.settings.profile) from exc
                except ValueError as exc:
                    raise _bad_endpoint() from exc
            return self._client

    def _custom_endpoint(self, endpoint: str | None) -> bool:
        if endpoint:
            return "amazonaws.com" not in endpoint
        # An endpoint_url from the AWS config file is read by botocore; detect it the same way.
        configured = self.boto._session.get_scoped_config().get("endpoint_url")
        s3_section = self.boto._session.get_scoped_config().get("s3")
        if isinstance(s3_section, dict):
            configured = s3_section.get("endpoint_url") or configured
        return bool(configured) and "amazonaws.com" not in str(configured)

    @property
    def endpoint_url(self) -> str:
        """The endpoint actually used (as the boto3 client resolved it)."""
        return str(self.client.meta.endpoint_url)

    def _configured_endpoint(self) -> str:
        """The endpoint the boto3 client would use, found without building it if possible."""
        aws = self._aws_config()
        if aws is not None:
            try:
                return aws.endpoint(self.region)
            except NeedsBoto:
                pass
        return self.endpoint_url

    def static_credentials(self) -> StaticCredentials | None:
        """Keys found without boto3 where boto3 would find them, else ``None``."""
        if self.settings.anon:
            return None
        aws = self._aws_config()
        if aws is None:
            return None
        try:
            return aws.credentials()
        except NeedsBoto:
            return None

    def credentials(self) -> Any | None:
        if self.settings.anon:
            return None
        return self.boto.get_credentials()

    def access_key_id(self) -> str | None:
        static = self.static_credentials()
        if static is not None:
            return static.access_key
        creds = self.credentials()
        return None if creds is None else creds.get_frozen_credentials().access_key

    def credential_source(self) -> str:
        """Where the credentials came from (``env``, ``shared-credentials-file``...)."""
        if self.settings.anon:
            return "anonymous (unsigned)"
        static = self.static_credentials()
        if static is not None:
            return static.method
        creds = self.credentials()
        return "none found" if creds is None else str(getattr(creds, "method", "unknown"))

    def has_credentials(self) -> bool:
        """Whether requests will be signed with credentials found in the chain."""
        if self.settings.anon:
            return False
        return self.static_credentials() is not None or self.credentials() is not None

    def obstore_kwargs(self, bucket: str) -> dict[str, Any]:
        """Keyword arguments for ``obstore.store.S3Store`` matching this session."""
        # Importing boto3 and building its client costs ~0.6 s: only ask it for the endpoint
        # when the environment and the AWS files cannot say it for certain.
        endpoint = self._resolved_endpoint() or self._configured_endpoint()
        if not endpoint.lower().startswith(("http://", "https://")):
            raise _bad_endpoint()
        kwargs: dict[str, Any] = {
            "region": self.region,
            "endpoint": endpoint,
            "virtual_hosted_style_request": not self._custom_endpoint(endpoint),
            "client_options": {
                "allow_http": endpoint.startswith("http://"),
                "connect_timeout": timedelta(seconds=10),
                "timeout": timedelta(seconds=300),
                "pool_max_idle_per_host": "256",
            },
            "retry_config": {
                "max_retries": _retries(),
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": timedelta(seconds=8),
                    "base": 2.0,
                },
                "retry_timeout": timedelta(seconds=120),
            },
        }
        if self.settings.anon:
            kwargs["skip_signature"] = True
        else:
            static = self.static_credentials()
            if static is not None:
                kwargs["credential_provider"] = static
            else:
                if self.credentials() is None:
                    msg = "no AWS credentials found"
                    raise NoCredentialsError(msg)
                from obstore.auth.boto3 import Boto3CredentialProvider

                # Refreshes what boto3 refreshes (roles, SSO, instance credentials...).
                kwargs["credential_provider"] = Boto3CredentialProvider(self.boto)
            # Every PUT carries x-amz-checksum-crc64nvme, which the server verifies (what AWS
            # SDKs send by default since 2025). The body is not hashed again for the
            # signature: SHA-256 runs at ~0.4 GB/s a core without SHA instructions, and the
            # manifest's sha256/blake3, computed from the very bytes sent, already check the
            # content end to end on every download and verify.
            kwargs["checksum_algorithm"] = "crc64nvme"
            kwargs["unsigned_payload"] = True
        return kwargs


def _bad_endpoint() -> InvalidURLError:
    # The URL itself is not repeated: it may carry a secret (user:password@, a signed query).
    msg = "the endpoint URL is not a valid http:// or https:// URL"
    return InvalidURLError(msg, hint="use http(s)://host:port")
