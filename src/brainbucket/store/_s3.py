"""S3 (and S3-compatible) store: boto3 for the control plane, obstore for the data path.

boto3 costs ~3 ms of CPU per request; obstore (Rust) ~0.3 ms, which is what makes small-file
transfers fast. Listing, puts, deletes and reads into memory go through obstore; downloads to
files are plain GETs of URLs obstore signs, read on a worker thread straight into a reused
buffer (``_direct``: ~40% less client CPU than obstore's streams); bucket creation,
versioning, versions, policies, presigning, heads with user metadata and multipart clean-up
go through boto3, where the ecosystem's credential chain and behaviour are expected.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import stat
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import obstore
from obstore.store import S3Store as _ObStore

from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    ConflictError,
    EndpointError,
    ObjectNotFoundError,
    ServerError,
    UnsafeKeyError,
    UsageError,
)
from .._hashing import (
    CHUNK,
    ContentHasher,
    VerifiedWriter,
    b64_to_digest,
    content_digests,
    digest_to_b64,
    write_verified,
)
from .._types import Entry, FolderInfo, ObjectInfo, PutResult, VersionInfo
from .._url import StoreURL
from ._base import Progress, Store
from ._direct import Abort, Cancelled, DirectGet, proxied
from ._errors import printable, translate
from ._session import S3Settings, Session, _retries, backoff_delay
from ._smallget import SmallGets, Want

__all__ = ["S3Store"]


def _local_size(src: str | os.PathLike[str]) -> int:
    """Size of a local source file, with brainbucket errors for the usual mistakes."""
    try:
        st = os.stat(src)
    except FileNotFoundError as exc:
        msg = f"no such file: {src}"
        raise ObjectNotFoundError(msg, hint="check the local path") from exc
    except PermissionError as exc:
        msg = f"cannot read {src}: permission denied"
        raise AccessDeniedError(msg, hint="check the file's permissions") from exc
    if not stat.S_ISREG(st.st_mode):
        msg = f"{src} is not a regular file"
        raise UsageError(msg)
    return st.st_size


# Files up to this size go up in one PUT; larger ones in parts.
MULTIPART_THRESHOLD = 64 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024
# Files (and downloaded chunks) at least this big are read or written, and hashed, on a worker
# thread (file I/O, hashlib and blake3 release the GIL); below it the hand-over costs more
# than the work.
_HASH_IN_THREAD = 256 * 1024


def _is_invalid_path(exc: BaseException) -> bool:
    return type(exc).__name__ == "InvalidPathError"


def _etag(raw: str | None) -> str | None:
    return raw.strip('"') if raw else None


class S3Store(Store):
    """A bucket, or a prefix in one, on AWS S3 or any S3-compatible server.

    Parameters
    ----------
    url
        An ``s3`` :class:`~brainbucket._url.StoreURL`.
    settings
        Endpoint, profile, anonymous access.
    """

    def __init__(self, url: StoreURL, settings: S3Settings | None = None) -> None:
        self.url = url
        self.bucket = url.bucket
        self.root = url.prefix.strip("/")
        self.session = Session(settings or S3Settings())
        self._obs: _ObStore | None = None
        self._direct: DirectGet | None = None
        self._direct_known = False
        self._direct_plain = False

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def anon(self) -> bool:
        return self.session.settings.anon

    @property
    def client(self) -> Any:
        return self.session.client

    @property
    def obs(self) -> _ObStore:
        if self._obs is None:
            try:
                self._obs = _ObStore(self.bucket, **self.session.obstore_kwargs(self.bucket))
            except BrainbucketError:
                raise
            except Exception as exc:
                raise translate(exc, self.describe(), anon=self.anon) from exc
        return self._obs

    def _direct_get(self) -> DirectGet | None:
        """The direct download path (see ``_direct``), or ``None`` where obstore serves GETs.

        Anonymous reads (public data) and endpoints behind an HTTP proxy keep obstore's path.
        """
        if not self._direct_known:
            self._direct_known = True
            if not self.anon:

                def sign(key: str) -> str:
                    return self._sign_many([key])[0]

                probe = sign("probe")
                if not proxied(probe):
                    self._direct = DirectGet(sign)
                    self._direct_plain = probe.startswith("http://")
        return self._direct

    def _sign_many(self, keys: list[str]) -> list[str]:
        """Presigned GET URLs of ``keys``, valid for an hour (one call for the lot)."""
        try:
            urls = obstore.sign(self.obs, "GET", keys, timedelta(hours=1))
        except (TypeError, ValueError) as exc:
            # A key no URL can carry (undecodable bytes, say): the same refusal obstore's own
            # requests give. With several keys, the caller signs them one by one to find it.
            what = printable(self.describe(self._rel(keys[0]))) if len(keys) == 1 else "a key"
            msg = f"{what}: the key holds characters or segments brainbucket refuses"
            raise UnsafeKeyError(msg) from exc
        return [str(u) for u in urls]

    def small_gets(self, connections: int) -> SmallGets | None:
        """The one-thread path for many small downloads (see ``_smallget``), or ``None``.

        Plain-HTTP endpoints only (an S3 server on the lab's network, or this machine's);
        over HTTPS, small downloads keep :meth:`download`'s threads.
        """
        direct = self._direct_get()
        if direct is None or not self._direct_plain:
            return None

        def fallback(want: Want, abort: Abort) -> tuple[str, int]:
            return self._fetch(
                direct,
                want.path,
                want.dest,
                expected_size=want.size,
                expected_sha256=want.sha256,
                expected_blake3=want.blake3,
                expected_md5=want.md5,
                keep_mtime=want.keep_mtime,
                progress=None,
                abort=abort,
            )

        return SmallGets(self._sign_many, fallback, connections=connections)

    @property
    def direct_downloads(self) -> bool:
        """Whether :meth:`download` takes the direct path (and can be cut short by ``abort``)."""
        return self._direct_get() is not None

    def _fetch(self, direct: DirectGet, path: str, dest: Any, **kw: Any) -> tuple[str, int]:
        try:
            return direct.fetch(self.key(path), dest, what=printable(self.describe(path)), **kw)
        except (BrainbucketError, Cancelled):
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc

    def key(self, path: str) -> str:
        """The full S3 key of a store path."""
        path = path.strip("/")
        return f"{self.root}/{path}" if self.root and path else (self.root or path)

    def _rel(self, key: str) -> str:
        if self.root and key.startswith(self.root + "/"):
            return key[len(self.root) + 1 :]
        return key

    def _err(self, exc: BaseException, path: str = "") -> BrainbucketError:
        return translate(exc, self.describe(path), anon=self.anon)

    def _root_is_container(self) -> bool:
        return not self.root

    def _meta_to_info(self, meta: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            path=self._rel(meta["path"]),
            size=int(meta["size"]),
            last_modified=meta.get("last_modified"),
            etag=_etag(meta.get("e_tag")),
            version_id=meta.get("version"),
        )

    # -- listing ----------------------------------------------------------------------------

    def _list(self, prefix: str, *, recursive: bool) -> Iterator[Entry]:
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
                if _is_invalid_path(exc):
                    yield from sorted(
                        self._list_raw(full, None, delimiter=True), key=lambda e: e.path
                    )
                    return
                attempt = self._retry_or_raise(exc, prefix, attempt)
        entries: list[Entry] = [FolderInfo(self._rel(p) + "/") for p in result["common_prefixes"]]
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
                if _is_invalid_path(exc):
                    yield from self._list_raw(full, last, delimiter=False)  # type: ignore[misc]
                    return
                attempt = self._retry_or_raise(exc, prefix, attempt)

    def _list_raw(self, full: str, start_after: str | None, *, delimiter: bool) -> Iterator[Entry]:
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
                        etag=_etag(o.get("ETag")),
                    )
        except Exception as exc:
            raise self._err(exc, full) from exc

    def _retry_or_raise(self, exc: BaseException, path: str, attempt: int) -> int:
        """Sleep and return the next attempt number if ``exc`` is transient, else raise."""
        err = self._err(exc, path)
        if not isinstance(err, ServerError | EndpointError) or attempt >= _retries():
            raise err from exc
        attempt += 1
        time.sleep(backoff_delay(attempt))
        return attempt

    def info(self, path: str, *, version_id: str | None = None) -> ObjectInfo:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(path)}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            r = self.client.head_object(ChecksumMode="ENABLED", **kwargs)
        except Exception as exc:
            raise self._diagnose_head(exc, path, kwargs) from exc
        checksum = r.get("ChecksumSHA256")
        sha = None
        if checksum and "-" not in checksum:  # composite (multipart) checksums are not file digests
            sha = b64_to_digest(checksum)
        return ObjectInfo(
            path=path.strip("/"),
            size=int(r["ContentLength"]),
            last_modified=r.get("LastModified"),
            etag=_etag(r.get("ETag")),
            version_id=r.get("VersionId"),
            sha256=sha,
            metadata=dict(r.get("Metadata") or {}),
        )

    def _diagnose_head(
        self, exc: BaseException, path: str, kwargs: dict[str, Any]
    ) -> BrainbucketError:
        """Name a failed HEAD precisely.

        HEAD responses carry no error body, so a bare 403 cannot tell a wrong secret from a
        refusal, nor a 404 a missing bucket from a missing key. A one-byte ranged GET of the
        same object returns the server's error code.
        """
        err = self._err(exc, path)
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code not in ("403", "404", "Forbidden", "NotFound"):
            return err
        try:
            self.client.get_object(Range="bytes=0-0", **kwargs)
        except Exception as probe_exc:
            return self._err(probe_exc, path)
        return err

    # -- reading ----------------------------------------------------------------------------

    def _get_options(
        self, version_id: str | None, start: int | None, end: int | None
    ) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if version_id:
            opts["version"] = version_id
        if start is not None and end is not None:
            opts["range"] = (start, end)
        elif start:
            opts["range"] = {"offset": start}
        return opts

    def _open_stream(
        self,
        path: str,
        *,
        version_id: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[ObjectInfo, Iterator[bytes | memoryview]]:
        if start is not None and end is not None and end <= start:
            return self.info(path, version_id=version_id), iter(())
        try:
            res = obstore.get(
                self.obs,
                self.key(path),
                options=self._get_options(version_id, start, end),  # type: ignore[arg-type]
            )
        except BrainbucketError:
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc
        info = self._meta_to_info(res.meta)

        def chunks() -> Iterator[bytes | memoryview]:
            try:
                for chunk in res.stream(min_chunk_size=CHUNK):
                    yield memoryview(chunk)  # zero-copy: the writer and hashers take buffers
            except Exception as exc:
                raise self._err(exc, path) from exc

        return info, chunks()

    async def adownload(
        self,
        path: str,
        dest: str | os.PathLike[str],
        *,
        version_id: str | None = None,
        expected_size: int | None = None,
        expected_sha256: str | None = None,
        expected_blake3: str | None = None,
        expected_md5: str | None = None,
        keep_mtime: bool = False,
        progress: Progress | None = None,
    ) -> str:
        direct = self._direct_get() if version_id is None else None
        if direct is not None:
            wanted = {
                "expected_size": expected_size,
                "expected_sha256": expected_sha256,
                "expected_blake3": expected_blake3,
                "expected_md5": expected_md5,
                "keep_mtime": keep_mtime,
            }
            return await self._adirect(direct, path, dest, progress, wanted)
        # Every filesystem call (mkdir, creating the temporary file, writes, fsync, rename)
        # runs on a worker thread: creating a file costs ~0.5 ms of kernel time, fsync waits
        # for the disk, and on the event loop either would stall every transfer in flight.
        try:
            res = await obstore.get_async(
                self.obs,
                self.key(path),
                options=self._get_options(version_id, None, None),  # type: ignore[arg-type]
            )
            meta = res.meta  # built afresh on each access
            actual = int(meta["size"])
            size = expected_size if expected_size is not None else actual
            when = meta.get("last_modified") if keep_mtime else None
            mtime = None if when is None else when.timestamp()
            checks = {
                "expected_size": size,
                "expected_sha256": expected_sha256,
                "expected_blake3": expected_blake3,
                "expected_md5": expected_md5,
                "what": self.describe(path),
            }
            if actual < _HASH_IN_THREAD:
                # Small objects whole: one hand-over to a thread per file.
                data = await res.bytes_async()
                if progress is not None:
                    progress(len(data))
                return await asyncio.to_thread(
                    write_verified, dest, memoryview(data), mtime=mtime, **checks
                )
            w = await asyncio.to_thread(VerifiedWriter, dest, **checks)  # type: ignore[arg-type]
            with w:
                async for chunk in res.stream(min_chunk_size=CHUNK):
                    await asyncio.to_thread(w.write, chunk)
                    if progress is not None:
                        progress(len(chunk))
                return await asyncio.to_thread(w.commit, mtime=mtime)
        except BrainbucketError:
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc

    async def _adirect(
        self,
        direct: DirectGet,
        path: str,
        dest: Any,
        progress: Progress | None,
        checks: dict[str, Any],
    ) -> str:
        # The whole download (request, reads, hashing, the file) runs on one worker thread.
        loop = asyncio.get_running_loop()
        abort = Abort()
        size = checks["expected_size"]
        # Bytes are reported from the thread through the loop while a large file comes in; a
        # small one reports once, here, which spares the loop a wake-up per file.
        live = progress is not None and (size is None or size > CHUNK)
        report = None
        if live:

            def report(n: int) -> None:
                loop.call_soon_threadsafe(progress, n)  # type: ignore[arg-type]

        call = functools.partial(
            self._fetch, direct, path, dest, progress=report, abort=abort, **checks
        )
        try:
            digest, got = await loop.run_in_executor(None, call)
        except asyncio.CancelledError:
            abort.cancel()  # the thread ends at once and removes its temporary file
            raise
        if progress is not None and not live:
            progress(got)
        return digest

    def download(
        self,
        path: str,
        dest: str | os.PathLike[str],
        *,
        version_id: str | None = None,
        expected_size: int | None = None,
        expected_sha256: str | None = None,
        expected_blake3: str | None = None,
        expected_md5: str | None = None,
        keep_mtime: bool = False,
        progress: Progress | None = None,
        abort: Abort | None = None,
    ) -> str:
        """:meth:`Store.download`; ``abort`` lets another thread cut it short."""
        checks: dict[str, Any] = {
            "expected_size": expected_size,
            "expected_sha256": expected_sha256,
            "expected_blake3": expected_blake3,
            "expected_md5": expected_md5,
            "keep_mtime": keep_mtime,
            "progress": progress,
        }
        direct = self._direct_get() if version_id is None else None
        if direct is None:
            return super().download(path, dest, version_id=version_id, **checks)
        return self._fetch(direct, path, dest, abort=abort, **checks)[0]

    # -- writing ----------------------------------------------------------------------------

    def _attributes(
        self, metadata: dict[str, str] | None, content_type: str | None
    ) -> dict[str, str] | None:
        attrs: dict[str, str] = dict(metadata or {})
        if content_type:
            attrs["Content-Type"] = content_type
        return attrs or None

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
        mode: Any = None
        if if_none_match:
            mode = "create"
        elif if_match is not None:
            mode = {"e_tag": f'"{if_match.strip(chr(34))}"'}
        digest, b3 = content_digests(data)
        try:
            r = obstore.put(
                self.obs,
                self.key(path),
                data,
                mode=mode,
                attributes=self._attributes(metadata, content_type),  # type: ignore[arg-type]
                use_multipart=False,
            )
        except BrainbucketError:
            raise
        except Exception as exc:
            err = self._err(exc, path)
            if mode is not None and isinstance(err, ConflictError):
                # A conditional write whose answer was lost is retried, and the retry then
                # meets our own first write. If the object holds exactly these bytes, the
                # write is done, whoever made it.
                landed = self._holds(path, data, digest)
                if landed is not None:
                    return PutResult(
                        path.strip("/"), len(data), digest, landed.etag, landed.version_id, b3
                    )
            raise err from exc
        return PutResult(
            path.strip("/"), len(data), digest, _etag(r["e_tag"]), r.get("version"), b3
        )

    def _holds(self, path: str, data: bytes, digest: str) -> ObjectInfo | None:
        """The object's info if it holds exactly ``data`` now, else ``None``."""
        try:
            info = self.info(path)
        except BrainbucketError:
            return None
        if info.size != len(data):
            return None
        if info.sha256 is not None:
            return info if info.sha256 == digest else None
        # Single-part uploads: the ETag is the MD5 of the content.
        return info if info.etag == hashlib.md5(data, usedforsecurity=False).hexdigest() else None

    def upload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> PutResult:
        size = _local_size(src)
        if size <= MULTIPART_THRESHOLD:
            data, digest, b3 = _read_hashed(src)
            small = self._put_small(path, data, digest, b3, metadata)
            if progress is not None:
                progress(len(data))
            return small
        hasher = ContentHasher()

        def parts() -> Iterator[bytes]:
            # obstore reads the parts from here, so the digests describe exactly the bytes
            # sent, even if the file changes meanwhile.
            with open(src, "rb") as f:
                while chunk := f.read(PART_SIZE):
                    hasher.update(chunk)
                    if progress is not None:
                        progress(len(chunk))
                    yield chunk

        try:
            r = obstore.put(
                self.obs,
                self.key(path),
                parts(),
                attributes=self._attributes(metadata, None),  # type: ignore[arg-type]
                chunk_size=PART_SIZE,
                max_concurrency=8,
            )
        except BrainbucketError:
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc
        if sha256 is not None and hasher.sha256 != sha256:
            msg = f"{src} changed while it was being uploaded"
            raise BrainbucketError(msg, hint="re-run once the file is complete")
        return PutResult(
            path.strip("/"), size, hasher.sha256, _etag(r["e_tag"]), r.get("version"), hasher.blake3
        )

    def _put_small(
        self, path: str, data: bytes, digest: str, b3: str, metadata: dict[str, str] | None
    ) -> PutResult:
        try:
            r = obstore.put(
                self.obs,
                self.key(path),
                data,
                attributes=self._attributes(metadata, None),  # type: ignore[arg-type]
                use_multipart=False,
            )
        except BrainbucketError:
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc
        return PutResult(
            path.strip("/"), len(data), digest, _etag(r["e_tag"]), r.get("version"), b3
        )

    async def aupload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: Progress | None = None,
    ) -> PutResult:
        size = _local_size(src)
        if size > MULTIPART_THRESHOLD:
            return await asyncio.to_thread(
                self.upload, src, path, sha256=sha256, metadata=metadata, progress=progress
            )
        if size >= _HASH_IN_THREAD:
            # Hashing megabytes on the event loop would stall every transfer in flight.
            data, digest, b3 = await asyncio.to_thread(_read_hashed, src)
        else:
            data, digest, b3 = _read_hashed(src)
        try:
            r = await obstore.put_async(
                self.obs,
                self.key(path),
                data,
                attributes=self._attributes(metadata, None),  # type: ignore[arg-type]
                use_multipart=False,
            )
        except BrainbucketError:
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc
        if progress is not None:
            progress(len(data))
        return PutResult(
            path.strip("/"), len(data), digest, _etag(r["e_tag"]), r.get("version"), b3
        )

    def delete(self, path: str, *, version_id: str | None = None) -> None:
        try:
            if version_id:
                self.client.delete_object(
                    Bucket=self.bucket, Key=self.key(path), VersionId=version_id
                )
            else:
                obstore.delete(self.obs, self.key(path))
        except BrainbucketError:
            raise
        except Exception as exc:
            err = self._err(exc, path)
            if isinstance(err, FileNotFoundError) and not isinstance(err, NotADirectoryError):
                from .._exceptions import BucketNotFoundError

                if isinstance(err, BucketNotFoundError):
                    raise err from exc
                return  # deleting what is not there is not an error, as in S3
            raise err from exc

    def delete_many(self, paths: Any) -> list[tuple[str, str]]:
        """Batch deletes, 1,000 keys a request."""
        failed: list[tuple[str, str]] = []
        batch: list[str] = []

        def flush() -> None:
            if not batch:
                return
            try:
                r = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.key(p)} for p in batch], "Quiet": True},
                )
            except Exception as exc:
                err = self._err(exc)
                failed.extend((p, str(err)) for p in batch)
            else:
                for e in r.get("Errors", []):
                    failed.append(
                        (self._rel(e.get("Key", "")), e.get("Message", e.get("Code", "")))
                    )
            batch.clear()

        for p in paths:
            batch.append(p)
            if len(batch) == 1000:
                flush()
        flush()
        return failed

    async def adelete(self, path: str) -> None:
        try:
            await obstore.delete_async(self.obs, self.key(path))
        except Exception as exc:
            err = self._err(exc, path)
            if not isinstance(err, FileNotFoundError):
                raise err from exc

    # -- control plane ----------------------------------------------------------------------

    def presign(self, path: str, *, expires: timedelta | int = 3600) -> str:
        seconds = int(expires.total_seconds()) if isinstance(expires, timedelta) else int(expires)
        if seconds <= 0 or seconds > 7 * 24 * 3600:
            msg = "presigned URLs last between 1 second and 7 days"
            raise UsageError(msg)
        if self.anon:
            msg = "cannot presign without credentials"
            raise UsageError(msg, hint="pass --profile NAME or set AWS credentials")
        try:
            return str(
                self.client.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": self.key(path)},
                    ExpiresIn=seconds,
                )
            )
        except Exception as exc:
            raise self._err(exc, path) from exc

    def versions(self, path: str) -> list[VersionInfo]:
        key = self.key(path)
        out: list[VersionInfo] = []
        try:
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=key
            )
            for page in pages:
                for v in page.get("Versions", []):
                    if v["Key"] == key:
                        out.append(self._version(v, False))
                for v in page.get("DeleteMarkers", []):
                    if v["Key"] == key:
                        out.append(self._version(v, True))
        except Exception as exc:
            raise self._err(exc, path) from exc
        out.sort(key=lambda v: v.last_modified or datetime.min.replace(tzinfo=None), reverse=True)
        return out

    def _version(self, v: dict[str, Any], marker: bool) -> VersionInfo:
        return VersionInfo(
            path=self._rel(v["Key"]),
            version_id=str(v.get("VersionId")),
            size=int(v.get("Size", 0)),
            last_modified=v.get("LastModified"),
            is_latest=bool(v.get("IsLatest")),
            etag=_etag(v.get("ETag")),
            is_delete_marker=marker,
        )

    def bucket_exists(self) -> bool:
        try:
            # A listing of at most one key asks what HEAD bucket asks (same permission, same
            # NoSuchBucket), without loading boto3: ~0.5 s saved on the first sync to a bucket.
            next(iter(obstore.list(self.obs, chunk_size=1)), None)
        except Exception as exc:
            if _is_invalid_path(exc):
                return True  # it listed a key the data path cannot represent: it exists
            err = self._err(exc)
            if isinstance(err, FileNotFoundError):
                return False
            raise err from exc
        return True

    def create_bucket(self, *, versioning: bool = True) -> bool:
        """Create the bucket (versioned by default); returns False if it already was yours."""
        created = True
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "BucketAlreadyOwnedByYou":
                created = False
            elif code == "BucketAlreadyExists":
                from .._exceptions import BucketOwnedByOthersError

                msg = f"s3://{self.bucket}: the bucket name is taken by another account"
                raise BucketOwnedByOthersError(msg) from exc
            else:
                raise self._err(exc) from exc
        if versioning:
            self.set_versioning(True)
        return created

    def set_versioning(self, enabled: bool) -> None:
        try:
            self.client.put_bucket_versioning(
                Bucket=self.bucket,
                VersioningConfiguration={"Status": "Enabled" if enabled else "Suspended"},
            )
        except Exception as exc:
            raise self._err(exc) from exc

    def versioning(self) -> str | None:
        """``"Enabled"``, ``"Suspended"`` or ``None`` (never enabled)."""
        try:
            return self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except Exception as exc:
            raise self._err(exc) from exc

    def multipart_uploads(self) -> list[tuple[str, str]]:
        """``(key, upload_id)`` of unfinished multipart uploads under this store's root."""
        out: list[tuple[str, str]] = []
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.root
            )
            for page in pages:
                out += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        except Exception as exc:
            raise self._err(exc) from exc
        return out

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:
            err = self._err(exc)
            if not isinstance(err, FileNotFoundError):
                raise err from exc

    def close(self) -> None:
        self._obs = None
        if self._direct is not None:
            self._direct.close()
        self._direct, self._direct_known = None, False


def _read_hashed(src: str | os.PathLike[str]) -> tuple[bytes, str, str]:
    """A file's bytes and their two manifest digests, from one read."""
    data = Path(src).read_bytes()
    digest, b3 = content_digests(data)
    return data, digest, b3


def checksum_header(digest: str) -> str:
    """The base64 form of a ``sha256:`` digest, for ``x-amz-checksum-sha256``."""
    return digest_to_b64(digest)
