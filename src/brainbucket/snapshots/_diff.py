"""What changed between two versions of a study, shard by shard.

Two manifests are compared through their roots first: a shard whose digest is the same on
both sides holds the same entries, so it is skipped unread. Only the shards whose digests
differ are fetched (from the local cache when it holds them), so two snapshots of a million
files that differ in one subject cost two roots and two shards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..manifest import Entry, Manifest

__all__ = ["Diff", "diff_folder", "diff_manifests", "subject_of"]

_SUBJECT = re.compile(r"(?:^|/)(sub-[^/_.]+)")


def subject_of(path: str) -> str:
    """The subject a path belongs to (``sub-01``), or ``""`` for study-level files.

    Examples
    --------
    >>> subject_of("sub-01/anat/sub-01_T1w.nii.gz"), subject_of("derivatives/fp/sub-02/x")
    ('sub-01', 'sub-02')
    >>> subject_of("participants.tsv")
    ''
    """
    m = _SUBJECT.search(path)
    return m.group(1) if m else ""


@dataclass
class Diff:
    """Files added, changed (other content: another sha256) and removed from ``a`` to ``b``.

    Attributes
    ----------
    shards_read, shards_skipped
        Shards compared entry by entry, and shards skipped because their digests are equal.
    """

    added: list[Entry] = field(default_factory=list)
    changed: list[tuple[Entry, Entry]] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)
    shards_read: int = 0
    shards_skipped: int = 0

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def bytes_added(self) -> int:
        """Bytes of the new content: added files and the new side of changed ones."""
        return sum(e.size for e in self.added) + sum(b.size for _, b in self.changed)

    @property
    def bytes_removed(self) -> int:
        """Bytes of the content gone: removed files and the old side of changed ones."""
        return sum(e.size for e in self.removed) + sum(a.size for a, _ in self.changed)

    def rows(self) -> Iterator[tuple[str, str, int | None, int | None]]:
        """``(status, path, old size, new size)`` in path order; status ``A``, ``M`` or ``D``."""
        rows: list[tuple[str, str, int | None, int | None]]
        rows = [("A", e.path, None, e.size) for e in self.added]
        rows += [("M", a.path, a.size, b.size) for a, b in self.changed]
        rows += [("D", e.path, e.size, None) for e in self.removed]
        yield from sorted(rows, key=lambda r: r[1])

    def by_subject(self) -> dict[str, dict[str, int]]:
        """Per subject (``""``: study-level files): counts of added, changed, removed files."""
        out: dict[str, dict[str, int]] = {}
        for status, path, _, _ in self.rows():
            counts = out.setdefault(subject_of(path), {"added": 0, "changed": 0, "removed": 0})
            counts[{"A": "added", "M": "changed", "D": "removed"}[status]] += 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``brainbucket diff --json`` prints."""

        def one(e: Entry) -> dict[str, Any]:
            return {"path": e.path, "size": e.size, "sha256": e.sha256 or None}

        return {
            "added": [one(e) for e in self.added],
            "changed": [{"path": a.path, "old": one(a), "new": one(b)} for a, b in self.changed],
            "removed": [one(e) for e in self.removed],
            "bytes_added": self.bytes_added,
            "bytes_removed": self.bytes_removed,
        }


def _compare(a: dict[str, Entry], b: dict[str, Entry], out: Diff) -> None:
    for path, old in a.items():
        new = b.get(path)
        if new is None:
            out.removed.append(old)
        elif new.sha256 != old.sha256 or new.size != old.size:
            out.changed.append((old, new))
    out.added.extend(e for p, e in b.items() if p not in a)


def diff_manifests(a: Manifest, b: Manifest, prefix: str = "") -> Diff:
    """What changed from manifest ``a`` to manifest ``b`` (under ``prefix``).

    Shards whose stored digests are equal are skipped unread; the others are fetched, both
    sides at once. Content is compared by sha256 and size: a file re-uploaded with the same
    bytes (a new version id) is unchanged.

    Examples
    --------
    >>> z = "sha256:" + "0" * 64
    >>> old = Manifest([Entry("sub-01/a", 1, z), Entry("sub-02/b", 1, z)])
    >>> new = Manifest([Entry("sub-01/a", 2, "sha256:" + "1" * 64), Entry("sub-03/c", 1, z)])
    >>> [r[:2] for r in diff_manifests(old, new).rows()]
    [('M', 'sub-01/a'), ('D', 'sub-02/b'), ('A', 'sub-03/c')]
    """
    out = Diff()
    names = sorted(set(a.shards_for(prefix)) | set(b.shards_for(prefix)))
    differ: list[str] = []
    for name in names:
        ra, rb = a.shard_ref(name), b.shard_ref(name)
        if ra is not None and rb is not None and ra.sha256 == rb.sha256:
            out.shards_skipped += 1
        else:
            differ.append(name)
    out.shards_read = len(differ)
    if not differ:
        return out
    for m in (a, b):
        m.load_shards(differ)
    for name in differ:
        sa = {e.path: e for e in a.entries_in([name]) if e.path.startswith(prefix)}
        sb = {e.path: e for e in b.entries_in([name]) if e.path.startswith(prefix)}
        _compare(sa, sb, out)
    for lst in (out.added, out.removed):
        lst.sort(key=lambda e: e.path)
    out.changed.sort(key=lambda ab: ab[0].path)
    return out


def diff_folder(a: Manifest, folder: Path, *, jobs: int | None = None) -> Diff:
    """What changed from manifest ``a`` to the files in ``folder`` (as ``sync`` would see them).

    A file whose size differs from its entry is changed without being read; one of the same
    size is hashed to tell. ``.brainbucket/`` and the temporary files of downloads are no part
    of the folder's content.
    """
    from ..sync._local import Filters, hash_files, scan

    files = scan(folder, filters=Filters()).files
    old = a.flat()
    same_size = [f for p, f in files.items() if p in old and old[p].size == f.size]
    hash_files(same_size, threads=jobs)
    # Files not hashed (new ones, or another size) have no sha256 here: "" says unknown.
    new = {p: Entry(p, f.size, f.sha256 or "") for p, f in files.items()}
    out = Diff(shards_read=len(a.shards()))
    for path, entry in old.items():
        f = files.get(path)
        if f is None:
            out.removed.append(entry)
        elif f.size != entry.size or (f.sha256 is not None and f.sha256 != entry.sha256):
            out.changed.append((entry, new[path]))
    out.added.extend(new[p] for p in sorted(files) if p not in old)
    out.removed.sort(key=lambda e: e.path)
    out.changed.sort(key=lambda ab: ab[0].path)
    return out
