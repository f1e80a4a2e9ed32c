"""Actions: what an executor does to one file. Plain, frozen, idempotent descriptions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .._types import Expected

__all__ = ["Action", "Delete", "DeleteLocal", "Download", "Upload"]


@dataclass(frozen=True, slots=True)
class Upload:
    """Send the local file ``src`` to ``path`` in the store.

    Attributes
    ----------
    src
        Local file.
    path
        Destination path in the store.
    size
        Size when planned.
    sha256
        ``sha256:<hex>`` when already known (else computed while reading).
    reason
        Why (``new``, ``size changed``, ``content changed``...).
    """

    src: Path
    path: str
    size: int
    sha256: str | None = None
    reason: str = ""
    kind: ClassVar[str] = "upload"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.kind, "path": self.path, "size": self.size, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Download:
    """Fetch ``path`` from the store to the local file ``dest``, verified.

    The bytes are checked against ``size`` and ``sha256`` when known (through ``blake3``, the
    manifest's faster digest of the same content, when it has one); with only a plain-MD5
    ``etag`` (no ``-``), against that MD5. ``version_id`` fetches that exact version.

    Examples
    --------
    >>> Download("sub-01/anat/T1w.nii.gz", Path("data/T1w.nii.gz"), 123).to_dict()["action"]
    'download'
    """

    path: str
    dest: Path
    size: int
    sha256: str | None = None
    version_id: str | None = None
    etag: str | None = None
    reason: str = ""
    blake3: str | None = None
    kind: ClassVar[str] = "download"

    @property
    def expected(self) -> Expected:
        """What the downloaded bytes must match, for every download route."""
        return Expected.of(
            size=self.size,
            sha256=self.sha256,
            blake3=self.blake3,
            etag=self.etag,
            version_id=self.version_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.kind, "path": self.path, "size": self.size, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete ``path`` from the store."""

    path: str
    size: int = 0
    reason: str = ""
    kind: ClassVar[str] = "delete"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.kind, "path": self.path, "size": self.size, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DeleteLocal:
    """Delete the local file ``dest`` (``path`` is its dataset path)."""

    path: str
    dest: Path
    size: int = 0
    reason: str = ""
    kind: ClassVar[str] = "delete-local"

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.kind, "path": self.path, "size": self.size, "reason": self.reason}


Action = Upload | Download | Delete | DeleteLocal
