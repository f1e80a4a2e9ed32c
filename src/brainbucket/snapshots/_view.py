"""A study as a snapshot names it: listings from its manifest, reads by version id.

``s3://lab/study@v1.0.0`` is the study as tagged; ``s3://lab/study/sub-01@v1.0.0`` its
``sub-01`` folder as tagged, and ``s3://lab/study/participants.tsv@v1.0.0`` that file (the
``@`` goes on the last part of the URL, as for any snapshot URL). Nothing is listed on the
server: what a snapshot holds is what its manifest says, and each read fetches the version
the entry names and checks it against the entry's sha256, so later overwrites and deletes
do not show through.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .._exceptions import NotFoundError
from .._types import Expected, FolderInfo, ListEntry, ObjectInfo
from .._url import StoreURL, parse_url
from ..manifest import Entry, Manifest, read_manifest
from ..manifest._io import read_pointer
from ..store import Store, open_store
from ..store._settings import S3Settings
from ..store._views import ListingViews

__all__ = ["SnapshotView", "open_snapshot"]


def _listed(entry: Entry, path: str) -> ObjectInfo:
    return ObjectInfo(
        path, entry.size, etag=entry.etag, version_id=entry.version_id, sha256=entry.sha256
    )


class SnapshotView(ListingViews):
    """The files of one snapshot below one folder of it (``below``; ``""``: the whole study).

    Paths given to and returned by its methods are relative to ``below``, as a store's are to
    its root; ``du`` and ``tree`` come from the listing views every store has.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import parse_url
    >>> m = Manifest([Entry("sub-01/anat/a.nii.gz", 5, "sha256:" + "0" * 64, "v9")])
    >>> view = SnapshotView(open_store(tempfile.mkdtemp()), m, parse_url("s3://lab/study@v1"))
    >>> [e.path for e in view.ls()], [e.path for e in view.ls("sub-01/anat")]
    (['sub-01/'], ['sub-01/anat/a.nii.gz'])
    >>> view.expected("sub-01/anat/a.nii.gz").version_id
    'v9'
    >>> view.du()[1].size
    5
    """

    def __init__(self, store: Store, manifest: Manifest, url: StoreURL, below: str = "") -> None:
        self.store = store  # the study, its URL carrying the reference
        self.manifest = manifest
        self.url = url  # as the user gave it, for messages
        self.below = below.strip("/")

    def _full(self, path: str) -> str:
        return "/".join(p for p in (self.below, path.strip("/")) if p)

    def describe(self, path: str = "") -> str:
        """The URL of ``path`` in the snapshot, for messages."""
        if not path:
            return str(self.url)
        base = StoreURL(self.url.scheme, self.url.bucket, self._full(path))
        return f"{base}@{self.url.ref}"

    def entry(self, path: str = "") -> Entry:
        """The manifest entry of the file at ``path``.

        Raises
        ------
        NotFoundError
            The snapshot holds no such file (exit 3), naming it.
        """
        full = self._full(path)
        found = self.manifest.get(full)
        if found is None:
            study = StoreURL(self.store.url.scheme, self.store.url.bucket, self.store.url.prefix)
            msg = f"{self.describe(path)}: no such file in snapshot {self.url.ref}"
            raise NotFoundError(
                msg, hint=f"`brainbucket ls -r {study}@{self.url.ref}` lists its files"
            )
        return found

    def expected(self, path: str = "") -> Expected:
        """What a read of ``path`` must match: its entry's size, digests and version."""
        e = self.entry(path)
        return Expected.of(size=e.size, sha256=e.sha256, blake3=e.blake3, version_id=e.version_id)

    def ls(self, path: str = "", *, recursive: bool = False) -> Iterator[ListEntry]:
        """One level of folders and files under ``path`` (every file with ``recursive``).

        Listing a path that is a file yields that file, as a store's ``ls`` does.

        Raises
        ------
        NotFoundError
            ``path`` is neither a folder nor a file of the snapshot.
        """
        full = self._full(path)
        base = f"{full}/" if full else ""
        cut = len(self.below) + 1 if self.below else 0  # paths relative to ``below``
        folders: set[str] = set()
        found = False
        for e in self.manifest.entries(base):
            found = True
            head, sep, _ = e.path[len(base) :].partition("/")
            if sep and not recursive:
                folder = (base + head + "/")[cut:]
                if folder not in folders:
                    folders.add(folder)
                    yield FolderInfo(folder)
            else:
                yield _listed(e, e.path[cut:])
        if found or not full:
            return
        entry = self.entry(path)  # the path names one file, or nothing (exit 3)
        yield _listed(entry, full[cut:] if path else full.rsplit("/", 1)[-1])

    def walk(self, path: str = "", *, markers: set[str] | None = None) -> Iterator[ObjectInfo]:
        """Every file under ``path``, in path order (a manifest records no folder markers)."""
        for e in self.ls(path, recursive=True):
            if isinstance(e, ObjectInfo):
                yield e

    def read_to(self, path: str, out: BinaryIO) -> str:
        """Write the file's tagged bytes to ``out``; its ``sha256:`` digest, checked at the end."""
        return self.store.read_to(self._full(path), out, self.expected(path))

    def download(self, path: str, dest: str | os.PathLike[str]) -> str:
        """Fetch the file's tagged bytes to ``dest``, verified before they get that name."""
        return self.store.download(self._full(path), Path(dest), self.expected(path))


def open_snapshot(
    url: str | os.PathLike[str] | StoreURL, *, settings: S3Settings | None = None
) -> SnapshotView:
    """The snapshot that ``url`` (``s3://…@tag`` or ``@sha256:…``) names, at the folder or
    file it names.

    The study is the nearest folder, from the URL's path up to the bucket, that has a manifest
    (one small GET of its pointer a level, as :func:`~brainbucket.manifest.find_manifest`);
    then the reference is resolved there and its manifest read.

    Raises
    ------
    NotFoundError
        No study at or above the URL, no such tag or digest (naming the tags there are).

    """
    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    parts = [p for p in parsed.prefix.split("/") if p]
    for n in range(len(parts), -1, -1):
        here = StoreURL(parsed.scheme, parsed.bucket, "/".join(parts[:n]))
        store = open_store(here, settings=settings)
        if read_pointer(store) is None:
            continue
        snap = open_store(
            StoreURL(here.scheme, here.bucket, here.prefix, parsed.ref), settings=settings
        )
        manifest = read_manifest(snap)
        if manifest is None:  # pragma: no cover - a reference resolves to a root, or raises
            break
        return SnapshotView(snap, manifest, parsed, "/".join(parts[n:]))
    msg = f"{parsed}: no study at or above {StoreURL(parsed.scheme, parsed.bucket, parsed.prefix)}"
    raise NotFoundError(msg, hint="a snapshot is of a study an upload `brainbucket sync` made")
