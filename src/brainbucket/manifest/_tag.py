"""The stored form of a tag: one small JSON object per tag, written once.

``.brainbucket/tags/<name>.json`` names a manifest root and says who made it, when and why;
``.brainbucket/tags-deleted/<name>@<time>.json`` keeps a deleted tag and who deleted it.
The format is documented in ``docs/manifest.md``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .._exceptions import ManifestError
from ._format import META_DIR

__all__ = ["DELETED_DIR", "TAGS_DIR", "TAG_FORMAT", "Tag", "deleted_path", "tag_path"]

TAG_FORMAT = "brainbucket-tag/1"
TAGS_DIR = f"{META_DIR}/tags/"
DELETED_DIR = f"{META_DIR}/tags-deleted/"


def tag_path(name: str) -> str:
    return f"{TAGS_DIR}{name}.json"


def deleted_path(name: str, when: str) -> str:
    # The time in the key keeps every deletion of a name (a name may be tagged again).
    return f"{DELETED_DIR}{name}@{when.replace(':', '')}.json"


@dataclass(frozen=True)
class Tag:
    """A named, immutable version of a study.

    Attributes
    ----------
    name
        The tag's name (``v1.0.0``).
    root
        The ``sha256:`` digest of the manifest root it names: the citable identifier.
    message
        Why it was made (``-m``).
    author
        Who made it: ``BRAINBUCKET_AUTHOR``, else the login name and the credentials' key id.
    date
        When, as an ISO 8601 time in UTC.
    files, size
        How many files the tagged version holds, and their total bytes (``bytes`` in JSON).
    deleted_by, deleted_date, deleted_reason
        Set on the record of a deleted tag only.
    """

    name: str
    root: str
    message: str
    author: str
    date: str
    files: int
    size: int
    deleted_by: str | None = None
    deleted_date: str | None = None
    deleted_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        doc = {k: v for k, v in asdict(self).items() if v is not None}
        doc["bytes"] = doc.pop("size")
        return doc

    def encode(self) -> bytes:
        return (json.dumps({"format": TAG_FORMAT, **self.to_dict()}, indent=1) + "\n").encode()

    @classmethod
    def decode(cls, blob: bytes, what: str) -> Tag:
        """Parse a stored tag; a :class:`~brainbucket.ManifestError` if it is not one."""
        try:
            doc = json.loads(blob)
            if doc.get("format") != TAG_FORMAT:
                msg = f"{what}: unknown tag format {str(doc.get('format'))[:40]!r}"
                raise ManifestError(msg, hint="upgrade brainbucket to read this dataset")
            root = str(doc["root"])
            tag = cls(
                name=str(doc["name"]),
                root=root,
                message=str(doc.get("message", "")),
                author=str(doc.get("author", "")),
                date=str(doc["date"]),
                files=int(doc["files"]),
                size=int(doc["bytes"]),
                deleted_by=doc.get("deleted_by"),
                deleted_date=doc.get("deleted_date"),
                deleted_reason=doc.get("deleted_reason"),
            )
        except ManifestError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            msg = f"{what}: malformed tag"
            raise ManifestError(msg) from exc
        if not (root.startswith("sha256:") and len(root) == 71):
            msg = f"{what}: malformed tag (its manifest digest is not sha256:<64 hex digits>)"
            raise ManifestError(msg)
        return tag
