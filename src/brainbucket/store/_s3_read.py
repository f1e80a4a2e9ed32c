"""Reading from S3: heads, streamed reads and downloads along their route.

Streamed reads go through obstore (~0.3 ms of CPU a request against boto3's ~3).
Downloads follow the router (``_route``): the store's own HTTP readers (``_http``) for
signed current-version reads, obstore's streams for the rest, ranged and resumable reads for
large files (``_resume``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import obstore

from .._exceptions import (
    BrainbucketError,
    UnsafeKeyError,
)
from .._hashing import CHUNK, VerifiedWriter, b64_to_digest, write_verified
from .._paths import printable
from .._types import Expected, ObjectInfo, ProgressCallback
from ._http import Abort, Cancelled, DirectGet, Fetch, SmallGets, proxied
from ._presign import Presigner
from ._ride import rides
from ._route import RESUME_THRESHOLD, Route, choose
from ._s3_core import etag_of
from ._s3_list import S3Lists

__all__ = ["S3Reads"]

# Objects below this size come down whole in one answer and are hashed and written in one
# hand-over to a file thread; at or above it, they stream (the hand-over costs more than the
# work below it).
_WHOLE_BELOW = 256 * 1024


class S3Reads(S3Lists):
    """The reading part of :class:`~brainbucket.store.S3Store`."""

    _http: DirectGet | None = None
    _http_known = False
    _plain = False
    _versions_signer: Presigner | None = None

    @rides
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
            etag=etag_of(r.get("ETag")),
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

    # -- streamed reads ---------------------------------------------------------------------

    # Whole reads into memory (manifests, small files) start again after an outage.
    read_bytes = rides(S3Lists.read_bytes)

    def _get_options(
        self,
        version_id: str | None,
        start: int | None,
        end: int | None,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if version_id:
            opts["version"] = version_id
        if start is not None and end is not None:
            opts["range"] = (start, end)
        elif start:
            opts["range"] = {"offset": start}
        if if_match:
            opts["if_match"] = f'"{if_match}"'
        return opts

    @rides
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

    async def _aget(
        self, path: str, *, version_id: str | None, offset: int = 0, if_match: str | None = None
    ) -> Any:
        """Start an awaitable read (from ``offset``, only while the ETag is ``if_match``)."""
        try:
            return await obstore.get_async(
                self.obs,
                self.key(path),
                options=self._get_options(version_id, offset, None, if_match),  # type: ignore[arg-type]
            )
        except BrainbucketError:
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc

    # -- downloads, along their route -------------------------------------------------------

    def _reader(self) -> DirectGet | None:
        """The store's own HTTP reader, or ``None`` where obstore serves every GET.

        Anonymous reads (public data) and endpoints reached through an HTTP proxy keep
        obstore's path: the reader signs URLs and speaks to the endpoint directly.
        """
        if not self._http_known:
            self._http_known = True
            if not self.anon and not proxied(self._base_url()):
                self._http = DirectGet(
                    lambda key, version: self._sign_many([(key, version)])[0],
                    self.session.settings.tries,
                    self.session.ride.wait_out,
                )
                self._plain = self.endpoint.lower().startswith("http://")
        return self._http

    @property
    def _presigner(self) -> Presigner:
        if self._versions_signer is None:
            session = self.session
            self._versions_signer = Presigner(
                self.endpoint,
                self.bucket,
                session.region,
                session.path_style,
                session.credential_provider(),
            )
        return self._versions_signer

    def _base_url(self) -> str:
        """Where object URLs of this bucket point (path style, or the bucket's own host)."""
        parts = urllib.parse.urlsplit(self.endpoint)
        host = parts.netloc if self.session.path_style else f"{self.bucket}.{parts.netloc}"
        return f"{parts.scheme}://{host}/"

    def _sign_many(self, items: list[tuple[str, str | None]]) -> list[str]:
        """Presigned GET URLs of ``(key, version_id)`` pairs, valid for an hour.

        Current versions are signed by the data-path client, all in one call; pinned versions
        by :class:`~brainbucket.store._presign.Presigner`, which puts ``versionId`` among the
        signed parameters.
        """
        urls = [
            "" if version is None else self._presigner.sign(key, version_id=version)
            for key, version in items
        ]
        current = [i for i, (_, version) in enumerate(items) if version is None]
        if not current:
            return urls
        keys = [items[i][0] for i in current]
        try:
            signed = obstore.sign(self.obs, "GET", keys, timedelta(hours=1))
        except (TypeError, ValueError) as exc:
            # A key no URL can carry (undecodable bytes, say): the same refusal obstore's own
            # requests give. With several keys, the caller signs them one by one to find it.
            what = printable(self.describe(self._rel(keys[0]))) if len(keys) == 1 else "a key"
            msg = f"{what}: the key holds characters or segments brainbucket refuses"
            raise UnsafeKeyError(msg) from exc
        for i, url in zip(current, signed, strict=True):
            urls[i] = str(url)
        return urls

    def route(
        self, expected: Expected, *, resume_threshold: int | None = None, bulk: bool = False
    ) -> Route:
        return choose(
            expected.size,
            identified=expected.has_identity,
            resumable=resume_threshold is not None,
            http_reader=self._reader() is not None,
            plain_http=self._plain,
            bulk=bulk,
            resume_threshold=resume_threshold,
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
        reader = self._reader()
        if reader is None or not self._plain:
            super().download_many(items, done, stop, connections=connections, durable=durable)
            return

        def fallback(fetch: Fetch, abort: Abort) -> tuple[str, int]:
            return self._fetch(
                reader,
                fetch.path,
                fetch.dest,
                fetch.expected,
                fetch.keep_mtime,
                None,
                abort,
                fetch.durable,
            )

        fetches = (
            Fetch(
                path=path,
                key=self.key(path),
                dest=os.fspath(dest),
                what=printable(self.describe(path)),
                expected=expected,
                keep_mtime=True,
                tag=tag,
                durable=durable,
            )
            for path, dest, expected, tag in items
        )

        def landed(fetch: Fetch, digest: str | None, n: int, exc: BaseException | None) -> None:
            done(fetch.tag, digest, n, exc)

        SmallGets(self._sign_many, fallback, connections=connections).run(fetches, landed, stop)

    def _fetch(
        self,
        reader: DirectGet,
        path: str,
        dest: Any,
        expected: Expected,
        keep_mtime: bool,
        progress: ProgressCallback | None,
        abort: Abort | None,
        durable: bool | None = None,
    ) -> tuple[str, int]:
        try:
            return reader.fetch(
                self.key(path),
                dest,
                what=printable(self.describe(path)),
                expected=expected,
                keep_mtime=keep_mtime,
                progress=progress,
                abort=abort,
                durable=durable,
            )
        except (BrainbucketError, Cancelled):
            raise
        except Exception as exc:
            raise self._err(exc, path) from exc

    @rides
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
        expected = expected or Expected()
        reader = self._reader()
        if reader is None or self.route(expected) is Route.STREAM:
            return self._stream_download(path, dest, expected, keep_mtime, progress, durable)
        return self._fetch(reader, path, dest, expected, keep_mtime, progress, abort, durable)[0]

    @rides
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
        """:meth:`download`, awaitable; with ``state_dir``, a large download is kept across
        runs (route ``RESUME``)."""
        expected = expected or Expected()
        route = self.route(expected, resume_threshold=resume_threshold if state_dir else None)
        if route is Route.RESUME:
            from ._resume import resume_download

            assert state_dir is not None
            return await resume_download(
                self, path, Path(dest), expected, progress, state_dir, durable=durable
            )
        reader = self._reader()
        if reader is not None and route is not Route.STREAM:
            return await self._adirect(reader, path, dest, expected, keep_mtime, progress, durable)
        return await self._astream(path, dest, expected, keep_mtime, progress, durable)

    async def _astream(
        self,
        path: str,
        dest: str | os.PathLike[str],
        expected: Expected,
        keep_mtime: bool,
        progress: ProgressCallback | None,
        durable: bool | None,
    ) -> str:
        import asyncio  # here: a command that moves nothing never loads asyncio

        # Every filesystem call (mkdir, creating the temporary file, writes, fsync, rename)
        # runs on a worker thread: creating a file costs ~0.5 ms of kernel time, fsync waits
        # for the disk, and on the event loop either would stall every transfer in flight.
        try:
            res = await self._aget(path, version_id=expected.version_id)
            meta = res.meta  # built afresh on each access
            actual = int(meta["size"])
            if expected.size is None:
                expected = dataclasses.replace(expected, size=actual)
            when = meta.get("last_modified") if keep_mtime else None
            mtime = None if when is None else when.timestamp()
            what = self.describe(path)
            if actual < _WHOLE_BELOW:
                # Small objects whole: one hand-over to a thread per file.
                data = await res.bytes_async()
                if progress is not None:
                    progress(len(data))
                return await asyncio.to_thread(
                    write_verified,
                    dest,
                    memoryview(data),
                    expected,
                    what=what,
                    mtime=mtime,
                    durable=durable,
                )
            w = await asyncio.to_thread(VerifiedWriter, dest, expected, what=what, durable=durable)
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
        reader: DirectGet,
        path: str,
        dest: Any,
        expected: Expected,
        keep_mtime: bool,
        progress: ProgressCallback | None,
        durable: bool | None,
    ) -> str:
        import asyncio

        # The whole download (request, reads, hashing, the file) runs on one worker thread.
        loop = asyncio.get_running_loop()
        abort = Abort()
        # Bytes are reported from the thread through the loop while a large file comes in; a
        # small one reports once, here, which spares the loop a wake-up per file.
        live = progress is not None and (expected.size is None or expected.size > CHUNK)
        report = None
        if live:

            def report(n: int) -> None:
                loop.call_soon_threadsafe(progress, n)  # type: ignore[arg-type]

        call = functools.partial(
            self._fetch, reader, path, dest, expected, keep_mtime, report, abort, durable
        )
        try:
            digest, got = await loop.run_in_executor(None, call)
        except asyncio.CancelledError:
            abort.cancel()  # the thread ends at once and removes its temporary file
            raise
        if progress is not None and not live:
            progress(got)
        return digest

    def close(self) -> None:
        super().close()
        if self._http is not None:
            self._http.close()
        self._http, self._http_known = None, False
