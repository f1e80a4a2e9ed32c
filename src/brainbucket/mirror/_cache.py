"""The mirror's on-disk layout: data files, one record per file, saved listings, eviction.

A mirror of ``URL`` lives in ``<cache>/mirror/<bucket>-<hash>/``::

    source.json          which URL and endpoint this is
    listing.json.gz      the last remote file list seen online (offline answers come from it)
    files/<key>          the verified data, under its remote key
    records/ab/<h>.json  what each data file is: remote identity + the local inode it was
                         written as, so a cached lookup is one stat and one small read
    locks/ab/<h>.lock    per-file locks (they only avoid duplicate downloads)

A record is trusted only while the data file's inode, size and mtime match the ones it
recorded; anything else (a file replaced by another process, a crash between the rename and
the record) makes the file "not cached" and it is fetched again. Correctness never depends on
a lock.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import secrets
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import NotFoundError
from .._hashing import TMP_SUFFIX
from .._paths import local_path_for
from ..bids._index import FileRow, StudyIndex, find_root
from ..bids._query import Query

__all__ = ["CacheLayout", "GcReport", "MirrorStatus", "Record", "gc", "mirrors"]

# Temporary files older than this belong to a process that died; gc removes them.
STALE_TEMP_SECONDS = 3600


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside ``path`` under a private name, then rename: readers see old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def mirror_slug(url: str, endpoint: str | None) -> str:
    """A folder name unique to (URL, endpoint), readable by its bucket or folder name."""
    digest = hashlib.sha256(f"{endpoint or ''}\n{url}".encode()).hexdigest()[:12]
    if url.startswith("s3://"):
        name = url[5:].split("/", 1)[0]
    else:
        name = "local-" + (Path(url).name or "root")
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60]
    return f"{name}-{digest}"


@dataclass(frozen=True)
class Record:
    """What one cached data file is."""

    key: str
    size: int
    sha256: str  # of the local bytes, computed while they were written
    etag: str | None
    version_id: str | None
    remote_sha256: str | None
    ino: int
    mtime_ns: int

    def describes(self, st: os.stat_result) -> bool:
        """Is ``st`` the very file this record was written for?"""
        return st.st_ino == self.ino and st.st_size == self.size and st.st_mtime_ns == self.mtime_ns

    def matches(self, remote: FileRow) -> bool:
        """Is the cached copy the remote file ``remote`` describes (not an older version)?"""
        _, size, etag, version_id, sha256 = remote
        if size != self.size:
            return False
        if sha256 is not None:
            return sha256 == self.sha256
        if version_id is not None and self.version_id is not None:
            return version_id == self.version_id
        if etag is not None:
            return etag == self.etag
        return True


class CacheLayout:
    """Paths of one mirror inside the cache root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.records = root / "records"
        self.locks = root / "locks"
        self.listing = root / "listing.json.gz"
        self.source = root / "source.json"

    @staticmethod
    def _hashed(base: Path, key: str, ext: str) -> Path:
        h = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return base / h[:2] / f"{h}{ext}"

    def data_path(self, key: str) -> Path:
        return local_path_for(self.files, key)

    def record_path(self, key: str) -> Path:
        return self._hashed(self.records, key, ".json")

    def lock_path(self, key: str) -> Path:
        return self._hashed(self.locks, key, ".lock")

    def read_record(self, key: str) -> Record | None:
        try:
            raw = json.loads(self.record_path(key).read_bytes())
            return Record(**raw)
        except (OSError, ValueError, TypeError):
            return None

    def write_record(self, record: Record) -> None:
        _atomic_write(self.record_path(record.key), json.dumps(record.__dict__).encode())

    def drop(self, key: str) -> None:
        for p in (self.data_path(key), self.record_path(key)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def existing(self, url: str, cache_dir: Path) -> CacheLayout:
        """This mirror, if the cache holds it; else :func:`missing_mirror`'s error."""
        if not self.root.is_dir():
            raise missing_mirror(url, cache_dir)
        return self

    def write_source(self, url: str, endpoint: str | None) -> None:
        if not self.source.exists():
            _atomic_write(self.source, json.dumps({"url": url, "endpoint": endpoint}).encode())

    def read_source(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.source.read_bytes()))
        except (FileNotFoundError, ValueError):
            return {}

    def save_listing(self, remote: list[FileRow], source: str) -> None:
        doc = {"source": source, "saved": time.time(), "files": remote}
        data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        _atomic_write(self.listing, gzip.compress(data, compresslevel=1))

    def load_listing(self) -> tuple[list[FileRow], str] | None:
        try:
            doc = json.loads(gzip.decompress(self.listing.read_bytes()))
            files = [(p, s, e, v, h) for p, s, e, v, h in doc["files"]]
        except (FileNotFoundError, OSError, EOFError, ValueError, KeyError, TypeError):
            return None  # none saved yet, or damaged: as good as never listed
        return files, str(doc.get("source", "listing"))

    def cached_files(self) -> Iterator[tuple[str, Path, os.stat_result]]:
        """``(key, path, stat)`` of every data file (temporary files excluded)."""
        if not self.files.is_dir():
            return
        for dirpath, _, names in os.walk(self.files):
            for name in names:
                if name.endswith(TMP_SUFFIX):
                    continue
                p = Path(dirpath) / name
                with contextlib.suppress(FileNotFoundError):
                    yield p.relative_to(self.files).as_posix(), p, p.stat()

    def temp_files(self) -> Iterator[Path]:
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                if name.endswith(TMP_SUFFIX):
                    yield Path(dirpath) / name


@dataclass(frozen=True)
class MirrorStatus:
    """One mirror in the cache: its URL, where it is, how many files and bytes it holds."""

    url: str
    endpoint: str | None
    root: Path
    files: int
    size: int
    last_used: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "endpoint": self.endpoint,
            "root": str(self.root),
            "files": self.files,
            "size": self.size,
            "last_used": self.last_used,
        }


def status_of(layout: CacheLayout, keys: Collection[str] | None = None) -> MirrorStatus:
    """Files and bytes a mirror holds (of ``keys`` only, when given)."""
    count = size = 0
    last: float | None = None
    for key, _, st in layout.cached_files():
        if keys is not None and key not in keys:
            continue
        count += 1
        size += st.st_size
        last = st.st_atime if last is None else max(last, st.st_atime)
    src = layout.read_source()
    return MirrorStatus(src.get("url", "?"), src.get("endpoint"), layout.root, count, size, last)


def mirror_roots(cache_dir: Path) -> list[Path]:
    base = cache_dir / "mirror"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir())


def selected_keys(layout: CacheLayout, query: Query) -> frozenset[str]:
    """The keys of the mirrored study that ``query`` selects, found without the network: in
    the study's file list as last seen (or, never listed, the files in the cache)."""
    saved = layout.load_listing()
    rows = (
        saved[0]
        if saved is not None
        else [(key, st.st_size, None, None, None) for key, _, st in layout.cached_files()]
    )
    index = StudyIndex(rows, root=find_root(r[0] for r in rows))
    return frozenset(f.path for f in index.matching(query))


def mirrors(cache_dir: Path, query: Query | None = None) -> list[MirrorStatus]:
    """Status of every mirror under ``cache_dir`` (of the files ``query`` selects, if given)."""
    out = []
    for root in mirror_roots(cache_dir):
        layout = CacheLayout(root)
        out.append(status_of(layout, None if query is None else selected_keys(layout, query)))
    return out


def missing_mirror(url: str, cache_dir: Path) -> NotFoundError:
    """The error for a study the cache holds no mirror of (at the endpoint asked for).

    A mirror of the same study from another endpoint is named: the endpoint is part of a
    mirror's name, so a forgotten ``--endpoint-url`` finds nothing.
    """
    msg = f"no mirror of {url} in {cache_dir}"
    for other in mirrors(cache_dir):
        if other.url == url:
            hint = (
                f"the cache holds one from {other.endpoint}: add --endpoint-url {other.endpoint}"
                if other.endpoint
                else "the cache holds one from AWS: leave out --endpoint-url"
            )
            return NotFoundError(msg, hint=hint)
    hint = "`brainbucket mirror status` lists the mirrors in the cache; `brainbucket get` fills one"
    return NotFoundError(msg, hint=hint)


@dataclass(frozen=True)
class GcReport:
    """What an eviction pass did."""

    removed: int
    freed: int
    kept: int
    kept_size: int
    temp_removed: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def gc(cache_dir: Path, max_size: int, *, roots: Iterable[Path] | None = None) -> GcReport:
    """Evict least recently used files until the mirrors hold at most ``max_size`` bytes.

    Also removes temporary files left by processes that died more than an hour ago.
    """
    entries: list[tuple[float, int, CacheLayout, str]] = []
    temp_removed = 0
    now = time.time()
    for root in roots if roots is not None else mirror_roots(cache_dir):
        layout = CacheLayout(root)
        for key, _, st in layout.cached_files():
            entries.append((st.st_atime, st.st_size, layout, key))
        for tmp in layout.temp_files():
            with contextlib.suppress(FileNotFoundError):
                if now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                    tmp.unlink()
                    temp_removed += 1
    total = sum(e[1] for e in entries)
    entries.sort(key=lambda e: e[0])  # least recently used first
    removed = freed = 0
    for _, size, layout, key in entries:
        if total <= max_size:
            break
        layout.drop(key)
        total -= size
        freed += size
        removed += 1
    return GcReport(removed, freed, len(entries) - removed, total, temp_removed)
