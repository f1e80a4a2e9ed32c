"""The mirror's small parts: the names it gives its callbacks, its verify report, the store
that stands in offline, and the operations on every mirror of a cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import OfflineError, UsageError
from .._url import parse_url
from ..bids._query import Query
from ..store import Store
from ._cache import GcReport, MirrorStatus, gc

__all__ = ["FileKey", "OfflineStore", "VerifyReport", "gc_all", "mirror_all"]


class VerifyReport:
    """What :meth:`Mirror.verify` found: files checked, and those removed as damaged."""

    def __init__(self, checked: int, damaged: list[str]) -> None:
        self.checked = checked
        self.damaged = damaged

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "damaged": self.damaged}


class FileKey(str):
    """A file's key in a study, as :class:`Mirror` names it to its callbacks: a plain ``str``
    (relative to the study root) that also carries the file's ``size`` in bytes.

    Examples
    --------
    >>> key = FileKey("sub-01/anat/sub-01_T1w.nii.gz", 2048)
    >>> key == "sub-01/anat/sub-01_T1w.nii.gz", key.size
    (True, 2048)
    """

    size: int

    def __new__(cls, key: str, size: int) -> FileKey:
        self = super().__new__(cls, key)
        self.size = size
        return self


class OfflineStore(Store):
    """Stands in for the remote store offline: every request is refused, none is made."""

    def __init__(self, url: str) -> None:
        self.url = parse_url(url)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        msg = f"offline: not contacting {self.url}"
        raise OfflineError(msg)

    _list = info = _open_stream = write_bytes = upload = delete = presign = versions = _refuse  # type: ignore[assignment]


def mirror_all(cache_dir: Path | None = None, *args: Any, **filters: Any) -> list[MirrorStatus]:
    """Status of every mirror in the cache; with filters (as :meth:`Mirror.files` takes
    them), of the files they select in each."""
    from ._cache import mirrors

    query = (
        Query.of(*args, **filters) if args or any(v is not None for v in filters.values()) else None
    )
    return mirrors(cache_dir if cache_dir is not None else Config().cache_dir, query)


def gc_all(max_size: int, cache_dir: Path | None = None) -> GcReport:
    """Evict least recently used files across every mirror in the cache."""
    if max_size < 0:
        msg = "max_size must be zero or more bytes"
        raise UsageError(msg)
    return gc(cache_dir if cache_dir is not None else Config().cache_dir, max_size)
