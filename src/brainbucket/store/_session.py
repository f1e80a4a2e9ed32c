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
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._exceptions import EndpointError, InvalidURLError, NoCredentialsError
from ._awsconfig import (
    AwsConfig,
    NeedsBoto,
    StaticCredentials,
    profile_map,
    profile_not_found,
    raw_parse,
)
from ._errors import redact_url, unreachable
from ._http import proxied
from ._http._wire import CONNECT_TIMEOUT  # one connect timeout for every client
from ._reach import endpoint_hint, probe
from ._ride import Ride
from ._settings import S3Settings

if TYPE_CHECKING:
    import boto3

__all__ = [
    "EndpointOrigin",
    "Session",
    "available_profiles",
    "chain_has_credentials",
    "endpoint_origin",
    "redact_url",
]

_DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class EndpointOrigin:
    """Which server requests go to, and the setting that named it.

    Attributes
    ----------
    url
        The endpoint as configured (it may hold a secret: show :attr:`display`).
    source
        ``"settings"`` when the settings' ``endpoint_url`` was given directly (``--endpoint-url``,
        ``endpoint_url=``); else the setting: ``BRAINBUCKET_ENDPOINT_URL``,
        ``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``, ``profile lab's endpoint_url``,
        ``profile lab's services section local``, or ``AWS`` (its own endpoint for the region).

    Examples
    --------
    >>> o = EndpointOrigin("http://k:secret@127.0.0.1:8333", "BRAINBUCKET_ENDPOINT_URL")
    >>> o.display, o.is_aws, "secret" in repr(o)
    ('http://127.0.0.1:8333', False, False)
    """

    url: str = field(repr=False)
    source: str

    @property
    def display(self) -> str:
        """The URL without anything that may be a secret."""
        return redact_url(self.url)

    @property
    def is_aws(self) -> bool:
        """Whether this is Amazon's own S3."""
        from urllib.parse import urlsplit

        try:
            host = (urlsplit(self.url).hostname or "").lower()
        except ValueError:
            return False
        return host == "amazonaws.com" or host.endswith((".amazonaws.com", ".amazonaws.com.cn"))

    def __repr__(self) -> str:
        return f"EndpointOrigin({self.display!r}, {self.source!r})"


@dataclass
class Session:
    """The one place where settings become an endpoint and credentials.

    Holds a boto3 session and S3 client (control plane) and the matching obstore settings
    (data path), each created lazily.
    """

    settings: S3Settings
    _boto: Any = field(default=None, repr=False)
    _client: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # The AWS settings read without boto3; None when only boto3 can read them.
    _aws: AwsConfig | None = field(default=None, repr=False)
    _aws_read: bool = field(default=False, repr=False)
    _anon: bool | None = field(default=None, repr=False)
    # The endpoint answered a connection: no need to check again (see check_reachable).
    _reached: bool = field(default=False, repr=False)
    _endpoint: str | None = field(default=None, repr=False)
    _ride: Ride | None = field(default=None, repr=False)

    @property
    def boto(self) -> boto3.session.Session:
        if self._boto is None:
            import boto3
            import botocore.exceptions

            keys: dict[str, Any] = {}
            if self.settings.access_key:
                keys = {
                    "aws_access_key_id": self.settings.access_key,
                    "aws_secret_access_key": self.settings.secret_key,
                }
            try:
                self._boto = boto3.session.Session(profile_name=self.settings.profile, **keys)
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

    # -- which server -----------------------------------------------------------------------

    @property
    def region(self) -> str:
        if self.settings.region:
            return self.settings.region
        aws = self._aws_config()
        if aws is not None:
            return aws.region() or _DEFAULT_REGION
        return self.boto.region_name or _DEFAULT_REGION

    @property
    def endpoint(self) -> str:
        """The endpoint every request goes to: the settings' own, else the AWS config's
        (``endpoint_url`` of the profile or its ``services`` section, ``AWS_ENDPOINT_URL``),
        else AWS's for the region — exactly what boto3 would pick, found without boto3
        whenever the environment and the AWS files say it for certain."""
        if self._endpoint is None:
            endpoint = self.settings.endpoint_url
            if not endpoint:
                aws = self._aws_config()
                if aws is not None:
                    try:
                        endpoint = aws.endpoint(self.region)
                    except NeedsBoto:
                        endpoint = None
                if not endpoint:
                    endpoint = str(self.client.meta.endpoint_url)
            self._endpoint = endpoint
        return self._endpoint

    def endpoint_origin(self) -> EndpointOrigin | None:
        """:attr:`endpoint` and the setting that named it, or ``None`` when only boto3 could
        tell (roles, FIPS or other special AWS endpoints...): never imports boto3."""
        if self.settings.endpoint_url:
            return EndpointOrigin(
                self.settings.endpoint_url, self.settings.endpoint_source or "settings"
            )
        aws = self._aws_config()
        if aws is None:
            return None
        try:
            url, source = aws.endpoint_source(self.region)
        except NeedsBoto:
            return None
        return EndpointOrigin(url, source)

    def endpoint_hint(self) -> str:
        """What to try when the endpoint cannot be reached (a local server, AWS, elsewhere)."""
        origin = self.endpoint_origin()
        return endpoint_hint(self.endpoint, origin.source if origin is not None else None)

    def unreachable(self, what: str) -> EndpointError:
        """The error for no connection to the endpoint: named, with the hint that fits."""
        err = unreachable(what, self.endpoint)
        err.hint = self.endpoint_hint()
        return err

    def check_reachable(self, what: str) -> None:
        """Before the first request: fail fast, naming the endpoint, if nobody answers there.

        Skipped behind an HTTP proxy, which the clients connect to instead.
        """
        if self._reached:
            return
        endpoint = self.endpoint
        if endpoint.lower().startswith(("http://", "https://")) and not proxied(endpoint):
            probe(
                endpoint,
                what=what,
                hint=self.endpoint_hint(),
                retry_refused=self.settings.tries > 0,
                timeout=CONNECT_TIMEOUT,
            )
        self._reached = True

    @property
    def ride(self) -> Ride:
        """Whether, and how long, to wait for the endpoint after a connection is lost
        mid-command (once it has been reached: before that, :meth:`check_reachable` fails
        fast)."""
        if self._ride is None:
            with self._lock:
                if self._ride is None:
                    self._ride = Ride(
                        self.endpoint,
                        self.settings.window,
                        lambda: self._reached,
                        self.settings.on_wait,
                    )
        return self._ride

    @property
    def path_style(self) -> bool:
        """Whether buckets go in the path (any server but AWS) rather than the host name."""
        return "amazonaws.com" not in self.endpoint

    @property
    def client(self) -> Any:
        """The boto3 S3 client (control plane)."""
        with self._lock:
            if self._client is None:
                self._client = self._make_client("s3", unsigned=self.anon)
            return self._client

    def _make_client(self, service: str, *, unsigned: bool, attempts: int | None = None) -> Any:
        import botocore
        import botocore.exceptions
        from botocore.config import Config as BotoConfig

        # botocore itself reads endpoint_url from the AWS config when none is given.
        endpoint = self.settings.endpoint_url or self._endpoint
        cfg = BotoConfig(
            signature_version=botocore.UNSIGNED if unsigned else "s3v4",
            s3={
                "addressing_style": "path" if self._path_style(endpoint) else "auto",
                # Bodies sent through boto3 (multipart parts) carry a checksum the server
                # verifies; hashing them again with SHA-256 to sign them costs ~40 ms per
                # 16 MiB part on CPUs without SHA instructions.
                "payload_signing_enabled": False,
            },
            retries={"mode": "standard", "total_max_attempts": attempts or self.settings.tries + 1},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=60,
            max_pool_connections=64,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        try:
            return self.boto.client(
                service, endpoint_url=endpoint, region_name=self.region, config=cfg
            )
        except botocore.exceptions.ProfileNotFound as exc:
            raise profile_not_found(self.settings.profile) from exc
        except ValueError as exc:
            raise _bad_endpoint() from exc

    def _path_style(self, endpoint: str | None) -> bool:
        if endpoint:
            return "amazonaws.com" not in endpoint
        # An endpoint_url from the AWS config file is read by botocore; detect it the same way.
        scoped = self.boto._session.get_scoped_config()
        configured = scoped.get("endpoint_url")
        s3_section = scoped.get("s3")
        if isinstance(s3_section, dict):
            configured = s3_section.get("endpoint_url") or configured
        return bool(configured) and "amazonaws.com" not in str(configured)

    def anonymous_client(self) -> Any:
        """A boto3 S3 client that signs nothing: asks the server what anyone may do."""
        return self._make_client("s3", unsigned=True, attempts=2)

    def sts_client(self) -> Any:
        """A boto3 STS client for the same endpoint and credentials ("who am I")."""
        return self._make_client("sts", unsigned=False, attempts=2)

    # -- as whom ----------------------------------------------------------------------------

    @property
    def anon(self) -> bool:
        """Whether requests go unsigned (asked for, or ``anon=None`` and no credentials)."""
        if self._anon is None:
            wanted = self.settings.anon
            if wanted is None:
                # A profile asked for by name signs (and says so clearly if it has no keys).
                wanted = self.settings.profile is None and not self.chain_has_credentials()
            self._anon = wanted
        return self._anon

    def chain_has_credentials(self) -> bool:
        """Whether boto3's credential chain finds credentials (environment, profile, files)."""
        if self.static_credentials(signed=True) is not None:
            return True
        import botocore.exceptions

        try:
            return self.boto.get_credentials() is not None
        except botocore.exceptions.BotoCoreError:
            return False

    def static_credentials(self, *, signed: bool = False) -> StaticCredentials | None:
        """Keys found without boto3 where boto3 would find them, else ``None``."""
        if not signed and self.anon:
            return None
        if self.settings.access_key and self.settings.secret_key:
            return StaticCredentials(
                self.settings.access_key, self.settings.secret_key, None, "explicit"
            )
        aws = self._aws_config()
        if aws is None:
            return None
        try:
            return aws.credentials()
        except NeedsBoto:
            return None

    def credentials(self) -> Any | None:
        if self.anon:
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
        if self.anon:
            return "anonymous (unsigned)"
        static = self.static_credentials()
        if static is not None:
            return static.method
        creds = self.credentials()
        return "none found" if creds is None else str(getattr(creds, "method", "unknown"))

    def has_credentials(self) -> bool:
        """Whether requests will be signed with credentials found in the chain."""
        if self.anon:
            return False
        return self.static_credentials() is not None or self.credentials() is not None

    def credential_provider(self) -> Any:
        """What signs requests: a callable returning the keys (``access_key_id``,
        ``secret_access_key``, ``token``, ``expires_at``) — static keys as found, or boto3's
        refreshing ones (roles, SSO, instance credentials...)."""
        static = self.static_credentials()
        if static is not None:
            return static
        if self.credentials() is None:
            msg = "no AWS credentials found"
            raise NoCredentialsError(msg)
        from obstore.auth.boto3 import Boto3CredentialProvider

        return Boto3CredentialProvider(self.boto)

    def obstore_kwargs(self, bucket: str) -> dict[str, Any]:
        """Keyword arguments for ``obstore.store.S3Store`` matching this session."""
        # Importing boto3 and building its client costs ~0.6 s: the endpoint is asked of it
        # only when the environment and the AWS files cannot say it for certain.
        endpoint = self.endpoint
        if not endpoint.lower().startswith(("http://", "https://")):
            raise _bad_endpoint()
        kwargs: dict[str, Any] = {
            "region": self.region,
            "endpoint": endpoint,
            "virtual_hosted_style_request": not self.path_style,
            "client_options": {
                "allow_http": endpoint.startswith("http://"),
                "connect_timeout": timedelta(seconds=CONNECT_TIMEOUT),
                "timeout": timedelta(seconds=300),
                "pool_max_idle_per_host": "256",
            },
            "retry_config": {
                "max_retries": self.settings.tries,
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": timedelta(seconds=8),
                    "base": 2.0,
                },
                "retry_timeout": timedelta(seconds=120),
            },
        }
        if self.anon:
            kwargs["skip_signature"] = True
        else:
            kwargs["credential_provider"] = self.credential_provider()
            # Every PUT carries x-amz-checksum-crc64nvme, which the server verifies (what AWS
            # SDKs send by default since 2025). The body is not hashed again for the
            # signature: SHA-256 runs at ~0.4 GB/s a core without SHA instructions, and the
            # manifest's sha256/blake3, computed from the very bytes sent, already check the
            # content end to end on every download and verify.
            kwargs["checksum_algorithm"] = "crc64nvme"
            kwargs["unsigned_payload"] = True
        return kwargs


def chain_has_credentials(profile: str | None = None) -> bool:
    """Whether the AWS credential chain finds credentials for ``profile`` (``None``: the
    default chain). A profile no AWS file defines raises :class:`CredentialsError`."""
    return Session(S3Settings(profile=profile)).chain_has_credentials()


def endpoint_origin(settings: S3Settings) -> EndpointOrigin | None:
    """Which server ``settings`` lead to, and the setting that says so (see
    :meth:`Session.endpoint_origin`); ``None`` when only boto3 could tell.

    Raises
    ------
    CredentialsError
        The settings name a profile no AWS file defines.

    Examples
    --------
    >>> endpoint_origin(S3Settings(endpoint_url="http://127.0.0.1:8333"))
    EndpointOrigin('http://127.0.0.1:8333', 'settings')
    """
    return Session(settings).endpoint_origin()


def available_profiles() -> list[str]:
    """The AWS profiles the config and credentials files define, as boto3 lists them."""
    try:
        names: set[str] = set()
        config = raw_parse(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"))
        names.update(profile_map(config or {})["profiles"])
        creds = raw_parse(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"))
        names.update(creds or {})
    except NeedsBoto:
        import boto3

        return list(boto3.session.Session().available_profiles)
    return sorted(names)


def _bad_endpoint() -> InvalidURLError:
    # The URL itself is not repeated: it may carry a secret (user:password@, a signed query).
    msg = "the endpoint URL is not a valid http:// or https:// URL"
    return InvalidURLError(msg, hint="use http(s)://host:port")
