"""What every part of the S3 store shares: the bucket and root, the session, the data-path
client, key mapping and error translation."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from obstore.store import S3Store as _ObStore

from .._exceptions import BrainbucketError, BucketNotFoundError, EndpointError
from .._types import CredentialInfo, ObjectInfo
from .._url import StoreURL
from ._base import Store
from ._errors import translate
from ._probe import ServerCapabilities
from ._session import Session
from ._settings import S3Settings

__all__ = ["S3Core", "etag_of"]


def etag_of(raw: str | None) -> str | None:
    """An ETag without its quotes."""
    return raw.strip('"') if raw else None


class S3Core(Store):
    """A bucket, or a prefix in one: the state the reading, writing and control-plane parts
    share (see :class:`~brainbucket.store.S3Store`)."""

    capabilities: ServerCapabilities

    def __init__(self, url: StoreURL, settings: S3Settings | None = None) -> None:
        self.url = url
        # What the server supports, found out when a feature first asks (``_probe``).
        self.capabilities = ServerCapabilities(self)
        self.bucket = url.bucket
        self.root = url.prefix.strip("/")
        self.session = Session(settings or S3Settings())
        self._obs: _ObStore | None = None
        # Download threads and the event loop may ask for the client at the same moment.
        self._obs_lock = threading.Lock()

    # -- who and where ----------------------------------------------------------------------

    @property
    def anon(self) -> bool:
        """Whether requests go unsigned."""
        return self.session.anon

    @property
    def endpoint(self) -> str:
        """The endpoint URL requests go to (as the settings and the AWS config decide)."""
        return self.session.endpoint

    @property
    def identity(self) -> str:
        return f"{self.describe()}@{self.endpoint}"

    def credentials(self) -> CredentialInfo:
        """Where the credentials come from and their key id (never the secret)."""
        session = self.session
        return CredentialInfo(session.credential_source(), session.access_key_id(), not self.anon)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The boto3 client (control plane)."""
        return self._reached().client

    def _reached(self) -> Session:
        """The session, once its endpoint has answered a connection in this process: before
        that, a refused connection fails in about a second, naming the endpoint."""
        self.session.check_reachable(self.describe())
        return self.session

    @property
    def obs(self) -> _ObStore:
        """The obstore client (data path)."""
        if self._obs is None:
            with self._obs_lock:
                if self._obs is None:
                    try:
                        kwargs = self.session.obstore_kwargs(self.bucket)
                        self.session.check_reachable(self.describe())
                        self._obs = _ObStore(self.bucket, **kwargs)
                    except BrainbucketError:
                        raise
                    except Exception as exc:
                        raise translate(exc, self.describe(), anon=self.anon) from exc
        return self._obs

    def key(self, path: str) -> str:
        """The full S3 key of a store path."""
        path = path.strip("/")
        return f"{self.root}/{path}" if self.root and path else (self.root or path)

    def _rel(self, key: str) -> str:
        if self.root and key.startswith(self.root + "/"):
            return key[len(self.root) + 1 :]
        return key

    def _err(self, exc: BaseException, path: str = "") -> BrainbucketError:
        err = translate(exc, self.describe(path), anon=self.anon)
        if type(err) is EndpointError and err is not exc:
            # The clients' words do not say which endpoint; the session knows, and what fits.
            err = self.session.unreachable(self.describe(path))
        return err

    def _write_err(self, exc: BaseException, path: str = "") -> BrainbucketError:
        """:meth:`_err` for a write: a missing bucket is one to create, not a mistyped name."""
        err = self._err(exc, path)
        if isinstance(err, BucketNotFoundError):
            return BucketNotFoundError.named(self.describe(path), writing=True)
        return err

    def _root_is_container(self) -> bool:
        return not self.root

    def _meta_to_info(self, meta: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            path=self._rel(meta["path"]),
            size=int(meta["size"]),
            last_modified=meta.get("last_modified"),
            etag=etag_of(meta.get("e_tag")),
            version_id=meta.get("version"),
        )

    def close(self) -> None:
        self._obs = None
