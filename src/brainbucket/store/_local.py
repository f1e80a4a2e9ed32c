"""A local folder as a store (``file://`` URLs and plain paths)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .._exceptions import (
    AccessDeniedError,
    ConflictError,
    IntegrityError,
    ObjectNotFoundError,
    UsageError,
)
from .._hashing import (
    CHUNK,
    TMP_SUFFIX,
    VerifiedWriter,
    content_digests,
    hex_of,
    sha256_file,
)
from .._paths import local_path_for
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
from ._base import Store
from ._capabilities import LOCAL

__all__ = ["LocalStore"]

# Temporary files of in-flight writes and brainbucket's sidecar metadata never show as objects.
_META_SUFFIX = ".bbmeta"


def _meta_path(p: Path) -> Path | None:
    """The metadata sidecar of ``p``; ``None`` if a name that long cannot exist."""
    name = p.name + _META_SUFFIX
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        return None
    return p.with_name(name)


def _is_hidden_artifact(name: str) -> bool:
    return name.endswith(TMP_SUFFIX) or name.endswith(_META_SUFFIX)


class LocalStore(Store):
    """A folder on a local (or network) filesystem, behaving like a bucket prefix.

    ETags are the sha256 hex of the content, so conditional writes work as on S3. What it
    can do beyond the verbs is in :data:`~brainbucket.store._capabilities.LOCAL`.

    Parameters
    ----------
    url
        A ``file`` :class:`~brainbucket._url.StoreURL`.
    """

    capabilities = LOCAL

    def __init__(self, url: StoreURL) -> None:
        self.url = url
        self.root = Path(url.prefix)

    def local_path(self, path: str) -> Path | None:
        return self._path(path)

    def create_bucket(self, *, versioning: bool = True) -> bool:
        """Create the folder; ``False`` if it was already there (a folder keeps no versions)."""
        if self.root.is_dir():
            return False
        self.root.mkdir(parents=True, exist_ok=True)
        return True

    def _path(self, path: str) -> Path:
        path = path.strip("/")
        return local_path_for(self.root, path) if path else self.root

    def _root_is_container(self) -> bool:
        return self.root.is_dir()

    def _info_of(self, p: Path, rel: str) -> ObjectInfo:
        st = p.stat()
        return ObjectInfo(
            path=rel,
            size=st.st_size,
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc),
            metadata=self._read_meta(p),
        )

    def _read_meta(self, p: Path) -> dict[str, str]:
        meta = _meta_path(p)
        if meta is None:
            return {}
        try:
            return dict(json.loads(meta.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def _list(self, prefix: str, *, recursive: bool) -> Iterator[ListEntry]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        if recursive:
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames.sort()
                rel_dir = os.path.relpath(dirpath, self.root)
                rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
                for name in sorted(filenames):
                    if _is_hidden_artifact(name):
                        continue
                    yield self._info_of(Path(dirpath) / name, rel_dir + name)
            return
        try:
            children = sorted(os.scandir(base), key=lambda e: e.name)
        except PermissionError as exc:
            msg = f"cannot read folder {base}"
            raise AccessDeniedError(msg) from exc
        for child in children:
            if _is_hidden_artifact(child.name):
                continue
            if child.is_dir():
                yield FolderInfo(prefix + child.name + "/")
            else:
                yield self._info_of(Path(child.path), prefix + child.name)

    def info(self, path: str, *, version_id: str | None = None) -> ObjectInfo:
        p = self._path(path)
        if not p.is_file():
            msg = f"no such file or folder: {p}" if not path else f"no such file: {p}"
            raise ObjectNotFoundError(msg)
        info = self._info_of(p, path.strip("/"))
        if version_id is not None and version_id != self._etag(p):
            msg = f"no version {version_id!r} of {p} (a local folder keeps only the current one)"
            raise ObjectNotFoundError(msg)
        return info

    def _etag(self, p: Path) -> str:
        return hex_of(sha256_file(p))

    def _open_stream(
        self,
        path: str,
        *,
        version_id: str | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[ObjectInfo, Iterator[bytes]]:
        info = self.info(path, version_id=version_id)
        p = self._path(path)

        def chunks() -> Iterator[bytes]:
            with open(p, "rb") as f:
                if start:
                    f.seek(start)
                remaining = None if end is None else end - (start or 0)
                while remaining is None or remaining > 0:
                    n = CHUNK if remaining is None else min(CHUNK, remaining)
                    buf = f.read(n)
                    if not buf:
                        break
                    if remaining is not None:
                        remaining -= len(buf)
                    yield buf

        return info, chunks()

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
        p = self._path(path)
        if p.is_dir():
            msg = f"{p} is a folder"
            raise UsageError(msg)
        if if_none_match and p.exists():
            msg = f"{p} already exists"
            raise ConflictError(msg)
        if if_match is not None:
            current = self._etag(p) if p.exists() else None
            if current != if_match.strip('"'):
                msg = f"{p} changed since it was read"
                raise ConflictError(msg)
        digest, b3 = content_digests(data)
        with VerifiedWriter(p, Expected(sha256=digest), what=str(p)) as w:
            w.write(data)
            w.commit()
        self._write_meta(p, metadata)
        return PutResult(path.strip("/"), len(data), digest, etag=hex_of(digest), blake3=b3)

    def _write_meta(self, p: Path, metadata: dict[str, str] | None) -> None:
        meta = _meta_path(p)
        if meta is None:
            if metadata:
                msg = f"{p}: the name is too long to keep metadata beside it"
                raise UsageError(msg, hint="shorten the name to 247 bytes or fewer")
            return
        if metadata:
            meta.write_text(json.dumps(metadata))
        else:
            with contextlib.suppress(FileNotFoundError):
                meta.unlink()

    def upload(
        self,
        src: str | os.PathLike[str],
        path: str,
        *,
        sha256: str | None = None,
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> PutResult:
        p = self._path(path)
        try:
            with (
                open(src, "rb") as f,
                VerifiedWriter(p, Expected(sha256=sha256), what=str(src), want_blake3=True) as w,
            ):
                while buf := f.read(CHUNK):
                    w.write(buf)
                    if progress is not None:
                        progress(len(buf))
                digest = w.commit()
                b3 = w.blake3
        except FileNotFoundError as exc:
            msg = f"no such file: {src}"
            raise ObjectNotFoundError(msg) from exc
        except IntegrityError:
            raise
        self._write_meta(p, metadata)
        return PutResult(path.strip("/"), p.stat().st_size, digest, etag=hex_of(digest), blake3=b3)

    def delete(self, path: str, *, version_id: str | None = None) -> None:
        p = self._path(path)
        if p.is_dir():
            msg = f"{p} is a folder; delete its files"
            raise UsageError(msg)
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
        meta = _meta_path(p)
        if meta is not None:
            with contextlib.suppress(FileNotFoundError):
                meta.unlink()
        # Keep the tree tidy like S3 "folders", which vanish with their last object.
        parent = p.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def presign(self, path: str, *, expires: timedelta | int = 3600) -> str:
        """The file's ``file://`` URI: a link for this machine only (``capabilities.presign``
        is off, so nothing offers it as a link to share)."""
        p = self._path(path)
        if not p.is_file():
            msg = f"no such file: {p}"
            raise ObjectNotFoundError(msg)
        return p.as_uri()

    def versions(self, path: str) -> list[VersionInfo]:
        info = self.info(path)
        p = self._path(path)
        return [
            VersionInfo(
                info.path, self._etag(p), info.size, info.last_modified, True, self._etag(p)
            )
        ]

    def rmtree(self) -> None:
        """Remove the whole folder (used by tests and ``rm -r`` on a local root)."""
        shutil.rmtree(self.root, ignore_errors=True)
