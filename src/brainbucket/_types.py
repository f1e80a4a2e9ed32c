"""Typed results shared by every layer (no botocore dicts past the store boundary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "DiskUsage",
    "Entry",
    "FolderInfo",
    "ObjectInfo",
    "ProgressCallback",
    "PutResult",
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


Entry = ObjectInfo | FolderInfo


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
class DiskUsage:
    """Bytes and object count under one prefix."""

    path: str
    size: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "count": self.count}


class ProgressCallback(Protocol):
    """Called with the number of bytes moved since the last call."""

    def __call__(self, nbytes: int, /) -> None: ...
