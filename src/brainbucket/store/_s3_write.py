"""Writing to S3: whole objects, uploads of files, deletes, and the multipart verbs.

Puts and uploads go through obstore, each with a CRC64NVME checksum the server verifies (see
``_session``); large files go up in parts. The multipart verbs (create, upload a part,
complete, abort, list) are what resumable uploads (``brainbucket.sync``) are built from.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore

from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    BucketNotFoundError,
    ConflictError,
    ObjectNotFoundError,
    UsageError,
)
from .._hashing import ContentHasher, content_digests
from .._types import ObjectInfo, ProgressCallback, PutResult
from ._ride import rides
from ._route import RESUME_THRESHOLD
from ._s3_core import S3Core, etag_of

__all__ = ["MULTIPART_THRESHOLD", "PART_SIZE", "Part", "S3Writes"]

# Files up to this size go up in one PUT; larger ones in parts.
MULTIPART_THRESHOLD = RESUME_THRESHOLD
PART_SIZE = 16 * 1024 * 1024
# Files (and downloaded chunks) at least this big are read or written, and hashed, on a worker
# thread (file I/O, hashlib and blake3 release the GIL); below it the hand-over costs more
# than the work.
_HASH_IN_THREAD = 256 * 1024


@dataclass(frozen=True)
class Part:
    """One uploaded part of a multipart upload: its number, ETag and CRC32 (base64)."""

    number: int
    etag: str
    crc32: str


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


def _read_hashed(src: str | os.PathLike[str]) -> tuple[bytes, str, str]:
    """A file's bytes and their two manifest digests, from one read."""
    data = Path(src).read_bytes()
    digest, b3 = content_digests(data)
    return data, digest, b3


class S3Writes(S3Core):
    """The writing part of :class:`~brainbucket.store.S3Store`."""

    def _attributes(
        self, metadata: dict[str, str] | None, content_type: str | None
    ) -> dict[str, str] | None:
        attrs: dict[str, str] = dict(metadata or {})
        if content_type:
            attrs["Content-Type"] = content_type
        return attrs or None

    def _put_result(self, path: str, size: int, sha: str, r: Any, b3: str | None) -> PutResult:
        return PutResult(path.strip("/"), size, sha, etag_of(r["e_tag"]), r.get("version"), b3)

    @rides
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
            err = self._write_err(exc, path)
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
        return self._put_result(path, len(data), digest, r, b3)

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

    @rides
    def upload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
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
            raise self._write_err(exc, path) from exc
        if sha256 is not None and hasher.sha256 != sha256:
            msg = f"{src} changed while it was being uploaded"
            raise BrainbucketError(msg, hint="re-run once the file is complete")
        return self._put_result(path, size, hasher.sha256, r, hasher.blake3)

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
            raise self._write_err(exc, path) from exc
        return self._put_result(path, len(data), digest, r, b3)

    @rides
    async def aupload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> PutResult:
        import asyncio  # here: a command that moves nothing never loads asyncio

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
            raise self._write_err(exc, path) from exc
        if progress is not None:
            progress(len(data))
        return self._put_result(path, len(data), digest, r, b3)

    # -- deletes ----------------------------------------------------------------------------

    @rides
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
            if isinstance(err, BucketNotFoundError):
                raise err from exc
            if isinstance(err, FileNotFoundError) and not isinstance(err, NotADirectoryError):
                return  # deleting what is not there is not an error, as in S3
            raise err from exc

    @rides
    def delete_many(self, paths: Iterable[str]) -> list[tuple[str, str]]:
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

    @rides
    async def adelete(self, path: str) -> None:
        try:
            await obstore.delete_async(self.obs, self.key(path))
        except Exception as exc:
            err = self._err(exc, path)
            if not isinstance(err, FileNotFoundError):
                raise err from exc

    # -- multipart verbs --------------------------------------------------------------------

    @rides
    def create_multipart(self, path: str) -> str:
        """Start a multipart upload whose parts carry CRC32 checksums; returns its id."""
        try:
            r = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key(path), ChecksumAlgorithm="CRC32"
            )
        except Exception as exc:
            raise self._write_err(exc, path) from exc
        return str(r["UploadId"])

    @rides
    def upload_part(self, path: str, upload_id: str, number: int, body: bytes, crc32: str) -> Part:
        """Send part ``number``; the server checks its CRC32 (base64) before keeping it."""
        try:
            r = self.client.upload_part(
                Bucket=self.bucket,
                Key=self.key(path),
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ChecksumCRC32=crc32,
            )
        except Exception as exc:
            raise self._write_err(exc, path) from exc
        return Part(number, str(r["ETag"]).strip('"'), crc32)

    @rides
    def complete_multipart(
        self, path: str, upload_id: str, parts: Iterable[Part]
    ) -> tuple[str | None, str | None]:
        """Join the parts into the object; returns its ``(etag, version_id)``."""
        listed = [
            {"PartNumber": p.number, "ETag": f'"{p.etag}"', "ChecksumCRC32": p.crc32}
            for p in sorted(parts, key=lambda p: p.number)
        ]
        try:
            r = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key(path),
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )
        except Exception as exc:
            raise self._write_err(exc, path) from exc
        return etag_of(str(r.get("ETag", ""))) or None, r.get("VersionId")

    @rides
    def list_parts(self, path: str, upload_id: str) -> dict[int, str] | None:
        """Part number → ETag of the parts the server holds; ``None`` if the upload is gone."""
        parts: dict[int, str] = {}
        try:
            for page in self.client.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=self.key(path), UploadId=upload_id
            ):
                for p in page.get("Parts", []):
                    parts[int(p["PartNumber"])] = str(p["ETag"]).strip('"')
        except Exception as exc:
            err = self._err(exc, path)
            if isinstance(err, FileNotFoundError):
                return None
            raise err from exc
        return parts

    @rides
    def multipart_uploads(self, path: str = "") -> list[tuple[str, str]]:
        """``(path, upload_id)`` of unfinished multipart uploads under ``path``."""
        out: list[tuple[str, str]] = []
        try:
            pages = self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self.key(path)
            )
            for page in pages:
                out += [(self._rel(u["Key"]), u["UploadId"]) for u in page.get("Uploads", [])]
        except Exception as exc:
            raise self._err(exc, path) from exc
        return out

    @rides
    def abort_multipart(self, path: str, upload_id: str) -> None:
        """Abort one multipart upload (one already gone is not an error)."""
        try:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key(path), UploadId=upload_id
            )
        except Exception as exc:
            err = self._err(exc, path)
            if not isinstance(err, FileNotFoundError):
                raise err from exc
