"""Typed results shared by every layer (no S3 client's raw answers past the store boundary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "AnonymousAccess",
    "BucketInfo",
    "CredentialInfo",
    "DiskUsage",
    "Expected",
    "FolderInfo",
    "ListEntry",
    "ObjectInfo",
    "ProgressCallback",
    "PutResult",
    "RemoteFile",
    "VersionInfo",
]


@dataclass(frozen=True)
class ObjectInfo:
    """One object (or local file), addressed relative to its store's root.

    Attributes
    ----------
    path
        Path relative to the store root, ``/``-separated.
    size
        Size in bytes.
    last_modified
        Modification time (UTC for S3).
    etag
        The server's ETag without quotes; ``None`` for local files.
    version_id
        S3 version id, where the bucket is versioned.
    sha256
        ``sha256:<hex>`` where known (local files after hashing, manifest entries).
    """

    path: str
    size: int
    last_modified: datetime | None = None
    etag: str | None = None
    version_id: str | None = None
    sha256: str | None = None
    metadata: dict[str, str] = field(default_factory=dict, compare=False)

    is_dir: bool = field(default=False, init=False)

    @property
    def blake3(self) -> str | None:
        """Always ``None``: listings and HEAD requests carry no BLAKE3 (manifests record it)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "object",
            "path": self.path,
            "size": self.size,
            "last_modified": self.last_modified.isoformat() if self.last_modified else None,
            "etag": self.etag,
            "version_id": self.version_id,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class FolderInfo:
    """A common prefix (S3) or directory (local), relative to the store root, ending in ``/``."""

    path: str

    is_dir: bool = field(default=True, init=False)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "folder", "path": self.path}


# One entry of a listing (not a manifest's entry, which is ``manifest.Entry``).
ListEntry = ObjectInfo | FolderInfo


class RemoteFile(Protocol):
    """What is known of one remote file, from a manifest entry or a listed object.

    Both ``manifest.Entry`` and :class:`ObjectInfo` are one. ``sha256`` and ``blake3`` are
    ``sha256:<hex>`` / ``blake3:<hex>`` where recorded (a manifest), ``etag`` where the
    server gave one (a listing).
    """

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def version_id(self) -> str | None: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def blake3(self) -> str | None: ...


@dataclass(frozen=True)
class PutResult:
    """What a write left on the server."""

    path: str
    size: int
    sha256: str
    etag: str | None = None
    version_id: str | None = None
    blake3: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "blake3": self.blake3,
            "etag": self.etag,
            "version_id": self.version_id,
        }


@dataclass(frozen=True)
class VersionInfo:
    """One version of one object."""

    path: str
    version_id: str
    size: int
    last_modified: datetime | None
    is_latest: bool
    etag: str | None = None
    is_delete_marker: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "version_id": self.version_id,
            "size": self.size,
            "last_modified": self.last_modified.isoformat() if self.last_modified else None,
            "is_latest": self.is_latest,
            "etag": self.etag,
            "is_delete_marker": self.is_delete_marker,
        }


@dataclass(frozen=True)
class BucketInfo:
    """One bucket of an account, as the server lists it."""

    name: str
    created: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "bucket",
            "name": self.name,
            "created": self.created.isoformat() if self.created else None,
        }


@dataclass(frozen=True)
class DiskUsage:
    """Bytes and object count under one prefix."""

    path: str
    size: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "count": self.count}


@dataclass(frozen=True)
class CredentialInfo:
    """Which credentials a store's requests carry: where they came from, the key id, and
    whether requests are signed at all. Never holds a secret."""

    source: str
    access_key_id: str | None = None
    signed: bool = False


@dataclass(frozen=True)
class AnonymousAccess:
    """What a client without credentials may do under a prefix, as the server answered.

    Attributes
    ----------
    listable
        An unsigned listing of the prefix was allowed.
    readable
        An unsigned read of an object under it was allowed (or allowed and found absent).
    detail
        Which request decided ``readable``, and its answer.
    """

    listable: bool
    readable: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Expected:
    """What a read must match, in one value: size, digests, and which version to read.

    Every download path takes one of these. Digests name their algorithm (``sha256:<hex>``,
    ``blake3:<hex>``); ``md5`` is a plain hex MD5 (a single-part upload's ETag), checked only
    where no SHA-256 is known. ``version_id`` selects the version a read fetches (a manifest
    entry's own, so readers never mix two uploads); ``etag`` pins a resumed read to the
    object it started on.

    Examples
    --------
    >>> Expected.of(size=5, etag="5d41402abc4b2a76b9719d911017c592").md5
    '5d41402abc4b2a76b9719d911017c592'
    >>> Expected.of(size=5, sha256="sha256:ab", etag="5d41402abc4b2a76b9719d911017c592").md5 is None
    True
    """

    size: int | None = None
    sha256: str | None = None
    blake3: str | None = None
    md5: str | None = None
    version_id: str | None = None
    etag: str | None = None

    @classmethod
    def of(
        cls,
        *,
        size: int | None = None,
        sha256: str | None = None,
        blake3: str | None = None,
        etag: str | None = None,
        version_id: str | None = None,
    ) -> Expected:
        """What a remote object described by these fields must match.

        The ETag's MD5 is checked only when no SHA-256 is known: the manifest's digest is
        the stronger check, and a multipart or encrypted ETag is no MD5 at all.
        """
        from ._hashing import plain_md5

        md5 = None if sha256 else plain_md5(etag)
        return cls(size, sha256, blake3, md5, version_id, etag)

    @property
    def has_identity(self) -> bool:
        """Whether a partial copy can be matched to the object later (digest or ETag)."""
        return bool(self.sha256 or self.etag)


class ProgressCallback(Protocol):
    """Called with the number of bytes moved since the last call."""

    def __call__(self, nbytes: int, /) -> None: ...
