"""The files of some subjects, read from only their manifest shards.

A manifest keeps one shard per subject (``sub-01/``, ``derivatives/<pipeline>/sub-01/``)
beside the shards of dataset-level files (see :func:`~brainbucket.manifest.shard_of`). To
answer for one subject of a study of thousands, the mirror reads the pointer, the root and
the few shards that may hold that subject's files or files every subject shares, not every
shard.
"""

from __future__ import annotations

from pathlib import Path

from ..bids._index import FileRow
from ..store import Store

__all__ = ["subject_rows"]


def _other_subjects(shard: str, subjects: frozenset[str]) -> bool:
    """Whether ``shard`` holds only files of subjects other than ``subjects``.

    Examples
    --------
    >>> keep = frozenset({"01"})
    >>> [_other_subjects(s, keep) for s in ("sub-02/", "sub-01/", "", "derivatives/fp/sub-02/")]
    [True, False, False, True]
    >>> _other_subjects("derivatives/fp/", keep), _other_subjects("sourcedata/", keep)
    (False, False)
    """
    parts = shard.rstrip("/").split("/")
    per_subject = len(parts) == 1 or (len(parts) == 3 and parts[0] == "derivatives")
    last = parts[-1]
    return per_subject and last.startswith("sub-") and last[4:] not in subjects


def subject_rows(
    store: Store, subjects: tuple[str, ...], cache: bool | Path
) -> list[FileRow] | None:
    """The files of ``subjects`` (labels without ``sub-``) and the dataset-level files,
    from their manifest shards only; ``None`` when the study has no manifest.

    ``cache`` is where manifest parts are kept, as ``read_manifest``'s ``cache``.
    """
    from ..manifest import read_manifest

    manifest = read_manifest(store, cache=cache)
    if manifest is None:
        return None
    wanted = frozenset(subjects)
    names = [n for n in manifest.shards() if not _other_subjects(n, wanted)]
    return [
        (e.path, int(e.size), e.etag, e.version_id, e.sha256) for e in manifest.entries_in(names)
    ]
