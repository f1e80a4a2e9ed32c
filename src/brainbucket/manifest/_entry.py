"""One manifest entry: what a dataset holds at one path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._exceptions import ManifestError

__all__ = ["Entry"]

_SHA256 = re.compile(r"sha256:[0-9a-f]{64}\Z")
_BLAKE3 = re.compile(r"blake3:[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a dataset, as the manifest records it.

    Attributes
    ----------
    path
        Path relative to the dataset root, ``/``-separated.
    size
        Size in bytes.
    sha256
        ``sha256:<hex>`` of the content.
    version_id
        S3 version id of the object holding this content, where the bucket is versioned.
    etag
        The server's ETag (without quotes), where known.
    blake3
        ``blake3:<hex>`` of the same content, where the writer recorded it: downloads check
        it instead of the (~10x slower) SHA-256.

    Examples
    --------
    >>> e = Entry("sub-01/anat/T1w.nii.gz", 3, "sha256:" + "0" * 64)
    >>> Entry.from_dict(e.to_dict()) == e
    True
    """

    path: str
    size: int
    sha256: str
    version_id: str | None = None
    etag: str | None = None
    blake3: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; absent optional fields are left out."""
        d: dict[str, Any] = {"path": self.path, "size": self.size, "sha256": self.sha256}
        if self.version_id is not None:
            d["version_id"] = self.version_id
        if self.etag is not None:
            d["etag"] = self.etag
        if self.blake3 is not None:
            d["blake3"] = self.blake3
        return d

    @classmethod
    def from_dict(cls, d: Any) -> Entry:
        """Parse (and check) the JSON form.

        Raises
        ------
        ManifestError
            If a field is missing or has the wrong type.
        """
        try:
            path, size, sha = d["path"], d["size"], d["sha256"]
            version_id, etag, b3 = d.get("version_id"), d.get("etag"), d.get("blake3")
        except (TypeError, KeyError, AttributeError) as exc:
            msg = f"manifest entry is missing a field: {str(d)[:120]}"
            raise ManifestError(msg) from exc
        # ``type(...) is`` rather than isinstance: faster on this hot path, and it refuses
        # bools posing as sizes.
        if (
            type(path) is not str
            or not path
            or type(size) is not int
            or size < 0
            or type(sha) is not str
            or _SHA256.match(sha) is None
            or (version_id is not None and type(version_id) is not str)
            or (etag is not None and type(etag) is not str)
            or (b3 is not None and (type(b3) is not str or _BLAKE3.match(b3) is None))
        ):
            msg = f"malformed manifest entry: {str(d)[:120]}"
            raise ManifestError(msg)
        return cls(path, size, sha, version_id, etag, b3)
