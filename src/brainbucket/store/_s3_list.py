"""Listing S3: one level or everything under a prefix, streamed, resumed after a break.

Listings go through obstore (~0.3 ms of CPU a page against boto3's ~3); keys the data path
cannot represent are listed through the control plane instead, so the layers above can refuse
them by name while every other object stays reachable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import obstore

from .._exceptions import BrainbucketError, EndpointError, ServerError
from .._types import FolderInfo, ListEntry, ObjectInfo
from ._s3_core import S3Core, etag_of
from ._settings import backoff_delay

__all__ = ["S3Lists", "is_invalid_path"]


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
        entries += [self._meta_to_info(m) for m in result["objects"]]
        entries.sort(key=lambda e: e.path)
        yield from entries

    def _list_recursive(self, full: str, prefix: str) -> Iterator[ObjectInfo]:
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
                        yield self._meta_to_info(meta)
                return
            except BrainbucketError:
                raise
            except Exception as exc:
                if is_invalid_path(exc):
                    yield from self._list_raw(full, last, delimiter=False)  # type: ignore[misc]
                    return
                attempt = self._retry_or_raise(exc, prefix, attempt)

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
