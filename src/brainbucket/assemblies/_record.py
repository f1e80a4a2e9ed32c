"""One version of one data assembly, as the catalog records it."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .._exceptions import ManifestError, UsageError

__all__ = ["AssemblyRecord", "check_identifier"]

# Identifiers become object keys and cache folder names: keep them to one safe path component.
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")


def check_identifier(identifier: str) -> str:
    """Return ``identifier`` if it can name an assembly, else raise :class:`UsageError`.

    Letters, digits, ``.``, ``_``, ``+`` and ``-``; up to 200 characters; no ``/``.

    Examples
    --------
    >>> check_identifier("dicarlo.MajajHong2015.public")
    'dicarlo.MajajHong2015.public'
    """
    if (
        not isinstance(identifier, str)
        or not _IDENTIFIER_RE.match(identifier)
        or ".." in identifier
    ):
        msg = f"invalid assembly identifier {identifier!r}"
        raise UsageError(
            msg,
            hint="use letters, digits, '.', '_', '+' and '-' (e.g. lab.Study2024.public)",
        )
    return identifier


@dataclass(frozen=True)
class AssemblyRecord:
    """One uploaded version of a data assembly.

    Attributes
    ----------
    identifier
        The assembly's name, e.g. ``dicarlo.MajajHong2015.public``.
    location
        Full URL of the stored object (``s3://bucket/key``).
    path
        The object's path relative to the catalog's store root; ``None`` for imported
        records whose location lies outside the store.
    sha1
        Hex SHA-1 of the bytes (BrainIO's identity of a file).
    sha256
        ``sha256:<hex>`` of the bytes, where known.
    size
        Bytes, where known.
    version_id
        S3 version id of the object; ``None`` on an unversioned bucket or a local folder.
    class_name
        What was stored: ``DataArray``, ``Dataset``, a BrainIO class name, or ``File``.
    kind
        ``netcdf`` (loadable as xarray) or ``file``.
    uploader
        Who uploaded it (the local user name unless given).
    time
        Upload time (UTC).
    lookup_type
        BrainIO's lookup type (``assembly``, ``stimulus_set_csv``...).
    stimulus_set_identifier
        BrainIO's link from an assembly to its stimulus set, if any.
    """

    identifier: str
    location: str
    path: str | None
    sha1: str
    sha256: str | None
    size: int | None
    version_id: str | None
    class_name: str
    kind: str = "file"
    uploader: str | None = None
    time: datetime | None = None
    lookup_type: str = "assembly"
    stimulus_set_identifier: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (time as ISO 8601).

        Examples
        --------
        >>> r = AssemblyRecord("a.b", "s3://x/a.b.nc", "a.b.nc", "0" * 40, None, 3, None, "File")
        >>> AssemblyRecord.from_dict(r.to_dict()) == r
        True
        """
        d = asdict(self)
        d["time"] = self.time.isoformat() if self.time else None
        return d

    @classmethod
    def from_dict(cls, d: Any, *, what: str = "catalog") -> AssemblyRecord:
        """Rebuild a record from :meth:`to_dict` output, refusing malformed entries."""
        try:
            if not isinstance(d, dict):
                msg = "record is not an object"
                raise TypeError(msg)
            sha1 = str(d["sha1"]).lower()
            if not _SHA1_RE.match(sha1):
                msg = f"bad sha1 {sha1!r}"
                raise ValueError(msg)
            size = d.get("size")
            return cls(
                identifier=check_identifier(str(d["identifier"])),
                location=str(d["location"]),
                path=None if d.get("path") is None else str(d["path"]),
                sha1=sha1,
                sha256=None if d.get("sha256") is None else str(d["sha256"]),
                size=None if size is None else int(size),
                version_id=None if d.get("version_id") is None else str(d["version_id"]),
                class_name=str(d.get("class_name") or "File"),
                kind=str(d.get("kind") or "file"),
                uploader=None if d.get("uploader") is None else str(d["uploader"]),
                time=datetime.fromisoformat(d["time"]) if d.get("time") else None,
                lookup_type=str(d.get("lookup_type") or "assembly"),
                stimulus_set_identifier=d.get("stimulus_set_identifier") or None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            msg = f"{what}: malformed assembly record ({type(exc).__name__}: {exc})"
            raise ManifestError(msg) from exc

    @property
    def short(self) -> str:
        """``identifier@version`` for messages (the sha1's head when there is no version id)."""
        return f"{self.identifier}@{self.version_id or 'sha1:' + self.sha1[:12]}"
