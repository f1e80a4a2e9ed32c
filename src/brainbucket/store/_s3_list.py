"""Listing S3: one level or everything under a prefix, streamed, resumed after a break.

Listings go through obstore (~0.3 ms of CPU a page against boto3's ~3); keys the data path
cannot represent are listed through the control plane instead, so the layers above can refuse
them by name while every other object stays reachable.

Folder markers — zero-byte ``dir/`` objects, what S3 consoles create for "new folder" — are
listed as the folders they stand for (:class:`FolderInfo`), never as objects. obstore strips
the trailing ``/`` from keys, so a marker ``a/`` reaches us as a zero-byte ``a``: when keys
below ``a/`` follow it, it is a marker; when nothing follows, one small listing of ``a/``
tells a marker (listed there) from an empty file ``a`` (not). Only zero-byte objects with
nothing below them cost that request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import obstore

from .._exceptions import BrainbucketError, EndpointError, ObjectNotFoundError, ServerError
from .._types import FolderInfo, ListEntry, ObjectInfo
from ._s3_core import S3Core, etag_of
from ._settings import backoff_delay

__all__ = ["S3Lists", "is_invalid_path"]

# Zero-byte objects whose nature (empty file or folder marker) a listing must tell are resolved
# this many at a time, with the listing's order kept: one listing each when they are few, else
# one listing of the raw keys over their range (a page of ~1,000 keys a request), so a dataset
# of empty placeholder files (BIDS examples) costs about one extra request a page, not a file.
_RESOLVE_BATCH = 1000
_PAGE = 1000


def is_invalid_path(exc: BaseException) -> bool:
    """Whether obstore refused a key it cannot represent (control character, ``..``...)."""
    return type(exc).__name__ == "InvalidPathError"


class S3Lists(S3Core):
    """The listing part of :class:`~brainbucket.store.S3Store`."""

    # -- listing ----------------------------------------------------------------------------

    def _list(self, prefix: str, *, recursive: bool) -> Iterator[ListEntry]:
        full = self.key(prefix)
        if recursive:
            yield from self._list_recursive(full, prefix)
            return
        attempt = 0
        while True:
            try:
                result = obstore.list_with_delimiter(self.obs, prefix=full or None)
                break
            except BrainbucketError:
                raise
            except Exception as exc:
                if is_invalid_path(exc):
                    yield from sorted(
                        self._list_raw(full, None, delimiter=True), key=lambda e: e.path
                    )
                    return
                attempt = self._retry_or_raise(exc, prefix, attempt)
        entries: list[ListEntry] = [
            FolderInfo(self._rel(p) + "/") for p in result["common_prefixes"]
        ]
        for m in result["objects"]:
            if full and m["path"] == full:
                # The folder's own marker (``full/``): the folder exists, even if empty.
                entries.append(FolderInfo(prefix))
            else:
                entries.append(self._meta_to_info(m))
        entries.sort(key=lambda e: e.path)
        yield from entries

    def _list_recursive(self, full: str, prefix: str) -> Iterator[ListEntry]:
        yield from self._with_markers(self._metas(full, prefix), full, prefix)

    def _metas(self, full: str, prefix: str) -> Iterator[Mapping[str, Any] | ListEntry]:
        # The data path retries failed requests, but not a listing page whose body breaks off
        # midway. Keys come in order, so a retry resumes after the last key already yielded:
        # nothing is listed twice or skipped.
        attempt = 0
        last: str | None = None
        while True:
            try:
                stream = obstore.list(self.obs, prefix=full or None, offset=last, chunk_size=1000)
                for batch in stream:
                    for meta in batch:
                        last = meta["path"]
                        yield meta
                return
            except BrainbucketError:
                raise
            except Exception as exc:
                if is_invalid_path(exc):
                    yield from self._list_raw(full, last, delimiter=False)
                    return
                attempt = self._retry_or_raise(exc, prefix, attempt)

    def _with_markers(
        self, metas: Iterator[Mapping[str, Any] | ListEntry], full: str, prefix: str
    ) -> Iterator[ListEntry]:
        """obstore's listing with folder markers turned into :class:`FolderInfo`, in order.

        A zero-byte ``a`` is held until the next key: keys below ``a/`` make it a marker; a
        repeat of ``a`` (both ``a`` and ``a/`` exist) makes the second one the marker;
        otherwise it is resolved by :meth:`_is_marker`, many at a time.
        """
        out: list[Mapping[str, Any] | ListEntry] = []  # held back while some are unresolved
        unsure: list[str] = []
        held: Mapping[str, Any] | None = None
        before: str | None = None  # the last file's key yielded: where a range listing starts

        def flush() -> Iterator[ListEntry]:
            nonlocal before
            markers = self._markers_among(unsure, span=len(out), full=full, before=before)
            for item in out:
                if isinstance(item, ObjectInfo | FolderInfo):
                    yield item
                elif item["path"] in markers:
                    yield FolderInfo(self._rel(item["path"]) + "/")
                else:
                    before = item["path"]
                    yield self._meta_to_info(item)
            out.clear()
            unsure.clear()

        for meta in metas:
            if isinstance(meta, ObjectInfo | FolderInfo):  # from the control plane: raw keys
                out.append(meta)
                continue
            path = meta["path"]
            if held is not None:
                h, held = held, None
                if path.startswith(h["path"] + "/") or path == h["path"]:
                    out.append(self._meta_to_info(h) if path == h["path"] else _folder(self, h))
                    if path == h["path"]:
                        out.append(_folder(self, meta))
                        continue
                else:
                    unsure.append(h["path"])
                    out.append(h)
            if full and path == full:
                out.append(FolderInfo(prefix))  # the listed folder's own marker
            elif int(meta["size"]) == 0:
                held = meta
                continue
            else:
                out.append(meta)
            if not unsure:
                yield from flush()
            elif len(unsure) >= _RESOLVE_BATCH:
                yield from flush()
        if held is not None:
            unsure.append(held["path"])
            out.append(held)
        yield from flush()

    def _markers_among(
        self, paths: list[str], *, span: int, full: str, before: str | None
    ) -> set[str]:
        """Which of these zero-byte objects (keys as obstore gives them) are ``key/``.

        ``span`` is how many listed entries their range holds: one raw listing of that range
        costs ``span / 1000`` requests, one listing each ``len(paths)``; the cheaper is used.
        """
        if not paths:
            return set()
        if len(paths) > span // _PAGE + 1:
            return self._markers_in_range(paths, full, before)
        if len(paths) == 1:
            return {paths[0]} if self._is_marker(paths[0]) else set()
        with ThreadPoolExecutor(max_workers=min(16, len(paths))) as pool:
            found = pool.map(self._is_marker, paths)
            return {p for p, yes in zip(paths, found, strict=True) if yes}

    def _markers_in_range(self, paths: list[str], full: str, before: str | None) -> set[str]:
        """:meth:`_markers_among` by listing the raw keys (which keep their ``/``) from just
        after ``before`` — a file's key listed before ``paths`` — to the last one's marker.

        Not from ``paths[0]`` itself: a server with real folders (SeaweedFS) takes
        ``StartAfter=a`` as "after the folder ``a``" and skips its marker ``a/``.
        """
        wanted = {p + "/" for p in paths}
        last = max(wanted)
        found: set[str] = set()
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": f"{full}/" if full else "",
            "MaxKeys": _PAGE,
        }
        if before:
            kwargs["StartAfter"] = before
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for o in page.get("Contents", []):
                    key = o["Key"]
                    if key in wanted:
                        found.add(key[:-1])
                    if key >= last:
                        return found
        except Exception as exc:
            raise self._err(exc, self._rel(min(paths))) from exc
        return found

    def _is_marker(self, key: str) -> bool:
        """Whether the zero-byte object listed as ``key`` is the folder marker ``key/``.

        Listing ``key/`` lists the marker itself (as ``key``), and nothing for an empty file
        ``key``. A server that keeps ``key`` as a file may refuse to list below it: a file.
        """
        try:
            result = obstore.list_with_delimiter(self.obs, prefix=key)
        except BrainbucketError:
            raise
        except Exception as exc:
            err = self._err(exc, key)
            if isinstance(err, ObjectNotFoundError | ServerError):
                return False
            raise err from exc
        return any(m["path"] == key for m in result["objects"])

    def _list_raw(
        self, full: str, start_after: str | None, *, delimiter: bool
    ) -> Iterator[ListEntry]:
        """List through the control plane, which takes any key the server holds.

        The data path refuses to list a prefix holding a key it cannot represent (a control
        character, an empty or ``..`` segment), failing the whole listing. Such keys are
        untrusted input: list them as they are, so the layers above can refuse them by name
        (``local_path_for``) while every other object stays reachable.
        """
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": f"{full}/" if full else ""}
        if start_after:
            kwargs["StartAfter"] = start_after
        if delimiter:
            kwargs["Delimiter"] = "/"
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for p in page.get("CommonPrefixes", []):
                    yield FolderInfo(self._rel(p["Prefix"].rstrip("/")) + "/")
                for o in page.get("Contents", []):
                    if o["Key"].endswith("/") and not int(o.get("Size", 0)):
                        # A folder marker, its key as the server holds it: the folder.
                        key = o["Key"].rstrip("/")
                        yield FolderInfo("" if key == self.root else self._rel(key) + "/")
                        continue
                    yield ObjectInfo(
                        path=self._rel(o["Key"]),
                        size=int(o.get("Size", 0)),
                        last_modified=o.get("LastModified"),
                        etag=etag_of(o.get("ETag")),
                    )
        except Exception as exc:
            raise self._err(exc, full) from exc

    def _retry_or_raise(self, exc: BaseException, path: str, attempt: int) -> int:
        """Sleep and return the next attempt number if ``exc`` is transient, else raise."""
        err = self._err(exc, path)
        if not isinstance(err, ServerError | EndpointError):
            raise err from exc
        if attempt >= self.session.settings.tries:
            if not self.session.ride.wait_out(err):
                raise err from exc
            return 0  # the server is back: the listing goes on where it stopped
        attempt += 1
        time.sleep(backoff_delay(attempt))
        return attempt


def _folder(store: S3Lists, meta: Mapping[str, Any]) -> FolderInfo:
    return FolderInfo(store._rel(meta["path"]) + "/")
