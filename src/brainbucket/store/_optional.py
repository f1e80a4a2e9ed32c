"""The verbs beyond a store's core: buckets, versions, links, policies, who we are, multipart
uploads. A store that has the capability overrides them; here each one either gives the
answer a store without it would give (a folder has no bucket to miss) or raises the one clear
error for a missing capability (:func:`~brainbucket.store._capabilities.unsupported`).

Features ask :attr:`Store.capabilities` before they use one of these; the error is for the
caller who did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._types import AnonymousAccess, CredentialInfo
from ._capabilities import unsupported

if TYPE_CHECKING:
    from ._s3_write import Part

__all__ = ["OptionalVerbs"]

_S3_HINT = "use s3://bucket/prefix"


class OptionalVerbs:
    """Defaults of the optional verbs, for stores without the capability."""

    def describe(self, path: str = "") -> str:
        raise NotImplementedError

    # -- where and as whom ------------------------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        """The server requests go to; ``None`` for a local folder."""
        return None

    @property
    def identity(self) -> str:
        """This store's URL and server, for keys of local state (caches, resumable uploads):
        the same bucket name on two servers is two stores."""
        return self.describe()

    def credentials(self) -> CredentialInfo:
        """Where the credentials come from and their key id (never the secret)."""
        return CredentialInfo("none needed (local files)")

    def whoami(self) -> str:
        """Who the server says these credentials are."""
        raise unsupported(self.describe(), "whoami", hint=_S3_HINT)

    def local_path(self, path: str) -> Path | None:
        """The local file behind ``path`` when the store is a local folder, else ``None``."""
        return None

    # -- buckets and versions ---------------------------------------------------------------

    def bucket_exists(self) -> bool:
        """Whether the bucket exists (a store without buckets: always)."""
        return True

    def list_buckets(self) -> list[str]:
        """Names of the buckets these credentials own."""
        raise unsupported(self.describe(), "buckets")

    def check_bucket(self) -> None:
        """Ask the server about the bucket itself; raises if it is missing or not ours."""

    def create_bucket(self, *, versioning: bool = True) -> bool:
        """Create the bucket (versioned by default); ``False`` if it was already yours."""
        raise unsupported(self.describe(), "buckets")

    def versioning(self) -> str | None:
        """``"Enabled"``, ``"Suspended"`` or ``None`` (never enabled, or not supported)."""
        return None

    def set_versioning(self, enabled: bool) -> None:
        """Turn the bucket's versioning on or off (suspended)."""
        raise unsupported(self.describe(), "versioning")

    def count_listed(self, path: str = "", *, limit: int = 5) -> int:
        """How many keys the first page of a listing under ``path`` holds (up to ``limit``)."""
        raise unsupported(self.describe(path), "buckets")

    # -- links and policies -----------------------------------------------------------------

    def presign(self, path: str, *, expires: timedelta | int = 3600) -> str:
        """A URL anyone can GET until it expires (needs ``capabilities.presign``)."""
        raise unsupported(self.describe(path), "presign", hint="use s3://bucket/key")

    def get_policy(self) -> dict[str, Any]:
        """The bucket policy as a document (no policy: no statements)."""
        raise unsupported(self.describe(), "policies", hint=_S3_HINT)

    def put_policy(self, document: dict[str, Any]) -> None:
        """Replace the bucket policy (a document without statements deletes it)."""
        raise unsupported(self.describe(), "policies", hint=_S3_HINT)

    def anonymous_access(self, prefix: str = "") -> AnonymousAccess:
        """What a client without credentials may do under ``prefix``, asked of the server."""
        raise unsupported(self.describe(prefix), "anonymous", hint=_S3_HINT)

    # -- multipart uploads ------------------------------------------------------------------

    def create_multipart(self, path: str) -> str:
        """Start a multipart upload; returns its id."""
        raise unsupported(self.describe(path), "multipart")

    def upload_part(self, path: str, upload_id: str, number: int, body: bytes, crc32: str) -> Part:
        """Send one part of a multipart upload."""
        raise unsupported(self.describe(path), "multipart")

    def complete_multipart(
        self, path: str, upload_id: str, parts: Iterable[Part]
    ) -> tuple[str | None, str | None]:
        """Join the parts; returns the object's ``(etag, version_id)``."""
        raise unsupported(self.describe(path), "multipart")

    def list_parts(self, path: str, upload_id: str) -> dict[int, str] | None:
        """Part number → ETag of the parts the server holds; ``None`` if the upload is gone."""
        raise unsupported(self.describe(path), "multipart")

    def multipart_uploads(self, path: str = "") -> list[tuple[str, str]]:
        """``(path, upload_id)`` of unfinished multipart uploads (a store without them: none)."""
        return []

    def abort_multipart(self, path: str, upload_id: str) -> None:
        """Abort one multipart upload."""
        raise unsupported(self.describe(path), "multipart")
