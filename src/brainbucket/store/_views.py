"""What a listing shows, built once for every store: the whole tree listed in parallel, disk
usage per child, a depth-limited tree. Each rests on the store's ``ls`` and ``walk``."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor

from .._exceptions import ObjectNotFoundError, UsageError
from .._types import DiskUsage, FolderInfo, ListEntry, ObjectInfo

__all__ = ["ListingViews"]


class ListingViews:
    """Views over a store's listings (mixed into :class:`~brainbucket.store.Store`)."""

    def ls(self, path: str = "", *, recursive: bool = False) -> Iterator[ListEntry]:
        raise NotImplementedError

    def walk(self, path: str = "", *, markers: set[str] | None = None) -> Iterator[ObjectInfo]:
        raise NotImplementedError

    def walk_all(
        self, *, jobs: int = 16, skip: Collection[str] = (), markers: set[str] | None = None
    ) -> Iterator[ObjectInfo]:
        """Every object under the root, the top-level folders listed in parallel.

        S3 answers a listing 1,000 keys a page, one page after the other; listing each
        top-level folder (``sub-01/``, ``derivatives/`` ...) on its own thread multiplies the
        rate. Objects come top-level ones first, then folder by folder in listing order. A
        root nothing was written under is empty, not an error; a missing bucket still raises.

        Parameters
        ----------
        jobs
            Folders listed at once.
        skip
            Top-level folders to leave out, as listed (ending in ``/``): ``.brainbucket/``
            for the dataset's files without brainbucket's own.
        markers
            Where given, the folder markers met (``dir/``) are added to it (see :meth:`walk`).

        Examples
        --------
        >>> import tempfile
        >>> from brainbucket import open_store
        >>> store = open_store(tempfile.mkdtemp())
        >>> for p in (".brainbucket/HEAD", "sub-02/b.txt", "sub-01/a.txt", "README"):
        ...     _ = store.write_bytes(p, b"x")
        >>> [o.path for o in store.walk_all(skip={".brainbucket/"})]
        ['README', 'sub-01/a.txt', 'sub-02/b.txt']
        """
        try:
            top = list(self.ls(""))
        except ObjectNotFoundError:
            return
        folders = [e.path for e in top if isinstance(e, FolderInfo) and e.path not in skip]
        for e in top:
            if isinstance(e, ObjectInfo):
                yield e
        if not folders:
            return
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(folders)))) as pool:
            for listed in pool.map(lambda p: list(self.walk(p, markers=markers)), folders):
                yield from listed

    def du(self, path: str = "") -> tuple[list[DiskUsage], DiskUsage]:
        """Bytes and object counts per immediate child of ``path``, and the total.

        One streamed recursive listing; memory grows with the number of children, not keys.
        """
        path = path.strip("/")
        base = f"{path}/" if path else ""
        children: dict[str, list[int]] = {}
        total = [0, 0]
        for obj in self.walk(path):
            rel = obj.path[len(base) :] if obj.path.startswith(base) else obj.path
            head, sep, _ = rel.partition("/")
            name = base + head + ("/" if sep else "")
            acc = children.setdefault(name, [0, 0])
            acc[0] += obj.size
            acc[1] += 1
            total[0] += obj.size
            total[1] += 1
        rows = [DiskUsage(name, s, c) for name, (s, c) in sorted(children.items())]
        return rows, DiskUsage(base or "", total[0], total[1])

    def tree(self, path: str = "", *, depth: int = 2) -> Iterator[tuple[int, ListEntry]]:
        """Depth-first ``(level, entry)`` pairs down to ``depth`` folder levels."""
        if depth < 1:
            msg = "depth must be at least 1"
            raise UsageError(msg)

        def visit(p: str, level: int) -> Iterator[tuple[int, ListEntry]]:
            for entry in self.ls(p):
                yield level, entry
                if isinstance(entry, FolderInfo) and level + 1 < depth:
                    yield from visit(entry.path, level + 1)

        yield from visit(path, 0)
