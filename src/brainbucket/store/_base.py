"""The Store protocol: a few abstract verbs per backend, everything else built on them once.

Paths handed to a store are relative to its root (the URL's prefix or folder), ``/``-separated.
Backends translate every backend error into brainbucket's exceptions before it leaves them.
"""

from __future__ import annotations

import abc
import dataclasses
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .._exceptions import ObjectNotFoundError
from .._hashing import StreamCheck, VerifiedWriter, plain_md5
from .._types import (
    Expected,
    FolderInfo,
    ListEntry,
    ObjectInfo,
    ProgressCallback,
    PutResult,
    VersionInfo,
)
from .._url import StoreURL
from ._capabilities import Capabilities
from ._optional import OptionalVerbs
from ._route import RESUME_THRESHOLD, Route
from ._views import ListingViews

if TYPE_CHECKING:
    from ._http import Abort

__all__ = ["Store", "join_path"]


def join_path(*parts: str) -> str:
    """Join store paths with ``/``, dropping empty parts and doubled separators."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class Store(ListingViews, OptionalVerbs, abc.ABC):
    """An object store rooted at a URL: S3 bucket/prefix or a local folder.

    Subclasses implement the abstract verbs; listing semantics, walking, disk usage, verified
    downloads and the async wrappers are shared. What a store can do beyond the verbs is in
    :attr:`capabilities`; a verb it cannot do raises one clear :class:`UsageError`.
    """

    url: StoreURL
    capabilities: Capabilities = Capabilities()

    # -- abstract verbs ---------------------------------------------------------------------

    @abc.abstractmethod
    def _list(self, prefix: str, *, recursive: bool) -> Iterator[ListEntry]:
        """Entries whose path starts with ``prefix`` (a folder path ending in ``/`` or "").

        Non-recursive listing yields immediate children only (folders as FolderInfo). Entries
        stream; nothing is held beyond one page.
        """

    @abc.abstractmethod
    def info(self, path: str, *, version_id: str | None = None) -> ObjectInfo:
        """Metadata of one object. Raises ObjectNotFoundError if absent."""

    @abc.abstractmethod
    def _open_stream(
        self,
        path: str,
        *,
        version_id: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[ObjectInfo, Iterator[bytes | memoryview]]:
        """Start a read: metadata of the version being read, and its byte chunks.

        ``start``/``end`` select the byte range ``[start, end)``.
        """

    @abc.abstractmethod
    def write_bytes(
        self,
        path: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> PutResult:
        """Write a whole object, verified by the server (sha256).

        ``if_match`` (an ETag) and ``if_none_match`` make the write conditional; a lost
        condition raises ConflictError.
        """

    @abc.abstractmethod
    def upload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> PutResult:
        """Upload a local file; the server verifies its checksum."""

    @abc.abstractmethod
    def delete(self, path: str, *, version_id: str | None = None) -> None:
        """Delete one object (a missing object is not an error, as in S3)."""

    @abc.abstractmethod
    def versions(self, path: str) -> list[VersionInfo]:
        """Every version of one object, newest first."""

    # -- identity and the capabilities beyond the verbs -------------------------------------

    def route(
        self, expected: Expected, *, resume_threshold: int | None = None, bulk: bool = False
    ) -> Route:
        """The path a download of an object like ``expected`` takes (see ``_route``)."""
        return Route.STREAM

    # -- shared behaviour -------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.url)!r})"

    def ls(self, path: str = "", *, recursive: bool = False) -> Iterator[ListEntry]:
        """List one level under ``path`` (folders and objects), or every object with ``recursive``.

        Listing a path that is an object yields that object, like ``aws s3 ls`` does.

        Raises
        ------
        ObjectNotFoundError
            If ``path`` is neither a folder nor an object.
        BucketNotFoundError
            If the bucket does not exist.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "sub-01").mkdir()
        >>> _ = (d / "sub-01" / "a.txt").write_text("x")
        >>> from brainbucket import open_store
        >>> [e.path for e in open_store(str(d)).ls()]
        ['sub-01/']
        """
        path = path.strip("/")
        prefix = f"{path}/" if path else ""
        found = False
        for entry in self._list(prefix, recursive=recursive):
            found = True
            # A folder marker stands for a folder: the listed folder's own tells only that it
            # exists; recursively, only objects are listed.
            if isinstance(entry, FolderInfo) and (recursive or entry.path == prefix):
                continue
            yield entry
        if found:
            return
        if path:
            # Maybe the path names one object rather than a folder.
            yield self.info(path)
        elif not self._root_is_container():
            # The URL itself names an object (s3://b/key.txt) or nothing at all.
            info = self.info("")
            yield type(info)(
                path=self.url.prefix.rstrip("/").rsplit("/", 1)[-1],
                size=info.size,
                last_modified=info.last_modified,
                etag=info.etag,
                version_id=info.version_id,
                sha256=info.sha256,
            )

    def _root_is_container(self) -> bool:
        """Whether an empty listing of the root is simply an empty bucket or folder."""
        return True

    def walk(self, path: str = "", *, markers: set[str] | None = None) -> Iterator[ObjectInfo]:
        """Every object under ``path``, streamed with bounded memory.

        Unlike :meth:`ls`, a prefix with nothing under it is simply empty, not an error.

        Parameters
        ----------
        path
            The folder to walk.
        markers
            Where given, the folder markers met (zero-byte ``dir/`` objects, listed as
            folders, never as objects) are added to it, as ``dir/``.
        """
        path = path.strip("/")
        found = False
        for entry in self._list(f"{path}/" if path else "", recursive=True):
            if isinstance(entry, ObjectInfo):
                found = True
                yield entry
            else:
                found = True  # the folder's marker: it exists, and is no object
                if markers is not None and entry.path:
                    markers.add(entry.path)
        if not found and path:
            try:
                yield self.info(path)
            except ObjectNotFoundError:
                return

    def exists(self, path: str) -> bool:
        try:
            self.info(path)
        except ObjectNotFoundError:
            return False
        return True

    def stream(
        self,
        path: str,
        *,
        version_id: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[ObjectInfo, Iterator[bytes | memoryview]]:
        """Start a read: the metadata of the version being read, and its bytes in chunks.

        ``start``/``end`` select the byte range ``[start, end)``. The chunks may be
        zero-copy buffers, valid until the next one is asked for.
        """
        return self._open_stream(path, version_id=version_id, start=start, end=end)

    def iter_bytes(self, path: str, *, version_id: str | None = None) -> Iterator[bytes]:
        """Stream an object's bytes in chunks."""
        _, chunks = self._open_stream(path, version_id=version_id)
        for chunk in chunks:
            # Backends may hand out zero-copy buffers; this verb promises bytes.
            yield chunk if type(chunk) is bytes else bytes(chunk)

    def read_to(self, path: str, out: BinaryIO, expected: Expected | None = None) -> str:
        """Write an object's bytes to ``out`` as they arrive (standard output, a pipe), then
        check them; returns ``sha256:<hex>``.

        Unlike :meth:`download`, nothing waits in a temporary file: the check (size, and
        the digests ``expected`` gives, else the MD5 of a plain ETag) comes after the last
        byte was written, and a mismatch cannot take those bytes back.

        Raises
        ------
        IntegrityError
            The bytes written do not match; its message says they cannot be taken back.

        Examples
        --------
        >>> import io, tempfile
        >>> from brainbucket import open_store
        >>> store = open_store(tempfile.mkdtemp())
        >>> _ = store.write_bytes("a.txt", b"hello")
        >>> out = io.BytesIO()
        >>> store.read_to("a.txt", out, Expected(size=5)).startswith("sha256:"), out.getvalue()
        (True, b'hello')
        """
        expected = expected or Expected()
        meta, chunks = self._open_stream(path, version_id=expected.version_id)
        if expected.size is None:
            expected = dataclasses.replace(expected, size=meta.size)
        if not (expected.sha256 or expected.blake3 or expected.md5):
            expected = dataclasses.replace(expected, md5=plain_md5(meta.etag))
        check = StreamCheck(expected, self.describe(path))
        for chunk in chunks:
            out.write(chunk)
            check.update(chunk)
        out.flush()
        return check.verify()

    def read_bytes(
        self,
        path: str,
        *,
        version_id: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> bytes:
        """Read an object (or the byte range ``[start, end)``) into memory."""
        _, chunks = self._open_stream(path, version_id=version_id, start=start, end=end)
        return b"".join(chunks)

    def download(
        self,
        path: str,
        dest: str | os.PathLike[str],
        expected: Expected | None = None,
        *,
        keep_mtime: bool = False,
        progress: ProgressCallback | None = None,
        abort: Abort | None = None,
        durable: bool | None = None,
    ) -> str:
        """Download to ``dest`` through a verified temporary file; returns ``sha256:<hex>``.

        The bytes go to a private temporary file beside ``dest``; size and digests are
        checked (against ``expected``, else against the object's own size); only then is the
        file renamed into place.

        Parameters
        ----------
        expected
            What the bytes must match, and the version to read
            (:class:`~brainbucket.Expected`). With both ``sha256`` and ``blake3`` (as a
            manifest records them) only BLAKE3 is computed: the same guarantee at ~10x less
            CPU. ``md5`` (a plain ETag) checks objects no manifest describes.
        keep_mtime
            Give the file the object's modification time, as ``aws s3 sync`` and rclone do.
        progress
            Called with each number of bytes received.
        abort
            Lets another thread cut the download short (stores with their own HTTP reader).
        durable
            ``fsync`` the file before it is renamed into place, so it survives a power cut;
            ``None``: as ``BRAINBUCKET_FSYNC`` says (off by default).

        Raises
        ------
        IntegrityError
            If the bytes do not match; ``dest`` is left as it was.
        """
        return self._stream_download(
            path, dest, expected or Expected(), keep_mtime, progress, durable
        )

    def _stream_download(
        self,
        path: str,
        dest: str | os.PathLike[str],
        expected: Expected,
        keep_mtime: bool,
        progress: ProgressCallback | None,
        durable: bool | None = None,
    ) -> str:
        """:meth:`download` through the store's streaming read (route ``STREAM``)."""
        meta, chunks = self._open_stream(path, version_id=expected.version_id)
        if expected.size is None:
            expected = dataclasses.replace(expected, size=meta.size)
        with VerifiedWriter(dest, expected, what=self.describe(path), durable=durable) as w:
            for chunk in chunks:
                w.write(chunk)
                if progress is not None:
                    progress(len(chunk))
            return w.commit(mtime=_timestamp(meta.last_modified) if keep_mtime else None)

    def delete_many(self, paths: Iterable[str]) -> list[tuple[str, str]]:
        """Delete many objects; returns ``(path, error)`` for those that failed."""
        failed: list[tuple[str, str]] = []
        for p in paths:
            try:
                self.delete(p)
            except Exception as exc:  # reported per item, the rest still go
                failed.append((p, str(exc)))
        return failed

    def describe(self, path: str = "") -> str:
        """The full URL of ``path`` in this store, for messages."""
        return str(self.url.join(path)) if path else str(self.url)

    # -- async wrappers: backends with a native async data path override these -------------

    async def adownload(
        self,
        path: str,
        dest: str | os.PathLike[str],
        expected: Expected | None = None,
        *,
        keep_mtime: bool = False,
        progress: ProgressCallback | None = None,
        state_dir: Path | None = None,
        resume_threshold: int = RESUME_THRESHOLD,
        durable: bool | None = None,
    ) -> str:
        """:meth:`download`, awaitable; backends with an async data path override it.

        With ``state_dir``, stores that keep partial downloads (``capabilities.
        resumable_reads``) continue a large one (at least ``resume_threshold``) where an
        earlier run stopped.
        """
        import asyncio  # here: a command that moves nothing never loads asyncio

        return await asyncio.to_thread(
            self.download,
            path,
            dest,
            expected,
            keep_mtime=keep_mtime,
            progress=progress,
            durable=durable,
        )

    def download_many(
        self,
        items: Iterable[tuple[str, str | os.PathLike[str], Expected, Any]],
        done: Callable[[Any, str | None, int, BaseException | None], None],
        stop: threading.Event,
        *,
        connections: int = 32,
        durable: bool | None = None,
    ) -> None:
        """Download many (small) objects on the calling thread (route ``SMALL``).

        ``items`` are ``(path, dest, expected, tag)``; each result goes to
        ``done(tag, sha256 digest or None, bytes received, error or None)``. Returns when all
        are done, or soon after ``stop`` is set. ``durable`` as for :meth:`download`.
        """
        for path, dest, expected, tag in items:
            if stop.is_set():
                return
            try:
                digest = self.download(path, dest, expected, keep_mtime=True, durable=durable)
            except Exception as exc:
                done(tag, None, 0, exc)
            else:
                done(tag, digest, expected.size or 0, None)

    async def aupload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> PutResult:
        """:meth:`upload`, awaitable; backends with an async data path override it."""
        import asyncio

        return await asyncio.to_thread(
            self.upload, src, path, sha256=sha256, metadata=metadata, progress=progress
        )

    async def adelete(self, path: str) -> None:
        import asyncio

        await asyncio.to_thread(self.delete, path)

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""


def _timestamp(when: datetime | None) -> float | None:
    """POSIX seconds of an object's modification time, if the server gave one."""
    return None if when is None else when.timestamp()
