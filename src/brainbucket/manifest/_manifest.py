"""``Manifest``: a dataset's path → Entry mapping, sharded, loaded lazily."""

from __future__ import annotations

import dataclasses
import heapq
import threading
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor

from .._hashing import sha256_bytes
from .._types import ObjectInfo
from ._entry import Entry
from ._format import ShardRef, encode_root, encode_shard, shard_may_hold, shard_of

__all__ = ["Manifest"]

# Fetches one shard (by its ref) as ``path → Entry``.
ShardLoader = Callable[[ShardRef], dict[str, Entry]]


class Manifest(MutableMapping[str, Entry]):
    """Every file of a dataset: path → :class:`Entry`, iterated in path order.

    A manifest is split into shards (see :func:`shard_of`). One read from a store knows only
    its root — the list of shards — and fetches each shard the first time a path in it is
    asked for, so looking at one subject reads one shard. Changing entries re-serialises only
    the shards they fall in.

    Parameters
    ----------
    entries
        Initial entries (a manifest built locally).

    Attributes
    ----------
    pointer_etag
        ETag of the pointer this manifest was read from (``None`` for a new one): pass it as
        ``expected`` to :func:`write_manifest`, which does so by default.

    Examples
    --------
    >>> m = Manifest([Entry("sub-01/anat/T1w.nii.gz", 4, "sha256:" + "a" * 64),
    ...               Entry("participants.tsv", 2, "sha256:" + "b" * 64)])
    >>> list(m)
    ['participants.tsv', 'sub-01/anat/T1w.nii.gz']
    >>> m.shards()
    ['', 'sub-01/']
    >>> len(m.subset("sub-01/"))
    1
    """

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._refs: dict[str, ShardRef] = {}
        self._shards: dict[str, dict[str, Entry]] = {}
        self._dirty: set[str] = set()
        self._loader: ShardLoader | None = None
        self._lock = threading.RLock()
        self._root: str | None = None
        # The stored version this one was read from (or last written as): the next write's
        # parent, so ``brainbucket log`` can walk the history.
        self._base: str | None = None
        self.pointer_etag: str | None = None
        self._is_cached: Callable[[ShardRef], bool] | None = None
        for e in entries:
            self.add(e)

    @classmethod
    def _lazy(
        cls,
        refs: dict[str, ShardRef],
        loader: ShardLoader,
        root: str,
        is_cached: Callable[[ShardRef], bool] | None = None,
    ) -> Manifest:
        m = cls()
        m._refs = dict(refs)
        m._loader = loader
        m._root = root
        m._base = root
        m._is_cached = is_cached
        return m

    # -- shards -----------------------------------------------------------------------------

    shard_of = staticmethod(shard_of)

    def shards(self) -> list[str]:
        """Names of the non-empty shards, sorted."""
        with self._lock:
            names = {n for n, r in self._refs.items() if n not in self._shards and r.count}
            names |= {n for n, s in self._shards.items() if s}
            return sorted(names)

    def _shard(self, name: str, *, create: bool = False) -> dict[str, Entry] | None:
        shard = self._shards.get(name)  # fast path, no lock: a dict read is atomic
        if shard is not None:
            return shard
        with self._lock:
            shard = self._shards.get(name)
            if shard is None:
                ref = self._refs.get(name)
                if ref is not None:
                    if self._loader is None:  # pragma: no cover - refs always come with a loader
                        msg = "manifest has shard references but no loader"
                        raise RuntimeError(msg)
                    shard = self._loader(ref)
                    self._shards[name] = shard
                elif create:
                    shard = self._shards[name] = {}
            return shard

    def load(self, prefix: str = "", *, jobs: int = 16) -> None:
        """Fetch every shard that may hold paths under ``prefix`` (all of them by default),
        several at once."""
        with self._lock:
            names = [n for n in self._refs if n not in self._shards and shard_may_hold(n, prefix)]
        self.load_shards(names, jobs=jobs)

    def load_shards(self, names: Iterable[str], *, jobs: int = 16) -> None:
        """Fetch the named shards not yet loaded, several at once."""
        with self._lock:
            names = [n for n in names if n in self._refs and n not in self._shards]
        if self._is_cached is not None:
            # Shards already on local disk load faster in this thread than through a pool.
            for name in [n for n in names if self._is_cached(self._refs[n])]:
                self._shard(name)
            names = [n for n in names if n not in self._shards]
        if len(names) <= 1:
            for name in names:
                self._shard(name)
            return
        loader = self._loader
        assert loader is not None
        # Fetch outside the lock (in parallel), then install.
        with ThreadPoolExecutor(min(jobs, len(names))) as pool:
            shards = list(pool.map(lambda n: loader(self._refs[n]), names))
        with self._lock:
            for name, shard in zip(names, shards, strict=True):
                self._shards.setdefault(name, shard)

    # -- mapping ----------------------------------------------------------------------------

    def __getitem__(self, path: str) -> Entry:
        shard = self._shard(shard_of(path))
        if shard is None:
            raise KeyError(path)
        return shard[path]

    def get(self, path: str, default: Entry | None = None) -> Entry | None:  # type: ignore[override]
        shard = self._shard(shard_of(path))
        if shard is None:
            return default
        return shard.get(path, default)

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        shard = self._shard(shard_of(path))
        return shard is not None and path in shard

    def __setitem__(self, path: str, entry: Entry) -> None:
        if entry.path != path:
            msg = f"entry path {entry.path!r} does not match key {path!r}"
            raise ValueError(msg)
        self.add(entry)

    def add(self, entry: Entry) -> None:
        """Add or replace the entry at ``entry.path``."""
        name = shard_of(entry.path)
        with self._lock:
            shard = self._shard(name, create=True)
            assert shard is not None
            if shard.get(entry.path) != entry:
                shard[entry.path] = entry
                self._touch(name)

    def __delitem__(self, path: str) -> None:
        name = shard_of(path)
        with self._lock:
            shard = self._shard(name)
            if shard is None:
                raise KeyError(path)
            del shard[path]
            self._touch(name)

    def _touch(self, name: str) -> None:
        self._dirty.add(name)
        self._root = None

    def __len__(self) -> int:
        with self._lock:
            n = sum(len(s) for s in self._shards.values())
            return n + sum(r.count for name, r in self._refs.items() if name not in self._shards)

    def __iter__(self) -> Iterator[str]:
        for e in self.entries():
            yield e.path

    def entries(self, prefix: str = "") -> Iterator[Entry]:
        """Entries whose path starts with ``prefix``, in path order, loading only their shards."""
        names = self.shards_for(prefix)
        self.load(prefix)
        iters = []
        for name in names:
            shard = self._shard(name) or {}
            items = sorted(p for p in shard if p.startswith(prefix))
            iters.append(iter([shard[p] for p in items]))
        yield from heapq.merge(*iters, key=lambda e: e.path)

    def complete(self, info: ObjectInfo, path: str | None = None) -> ObjectInfo:
        """``info`` with the version id and sha256 this manifest records for the object,
        when it lists the same object: the same size and the same ETag.

        A listing says neither; a manifest that lists the object as it is knows both. An
        object without an ETag (a local file) is never taken for the one recorded: its size
        alone could match other bytes.

        Parameters
        ----------
        info
            The object as listed.
        path
            Its path in the dataset, if not ``info.path`` (a listing below the dataset root).

        Examples
        --------
        >>> m = Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64, "v1", "e1")])
        >>> m.complete(ObjectInfo("a.txt", 1, etag="e1")).version_id
        'v1'
        >>> m.complete(ObjectInfo("a.txt", 1, etag="e2")).sha256 is None  # changed since
        True
        """
        entry = self.get(info.path if path is None else path)
        if entry is None or entry.size != info.size or not info.etag or entry.etag != info.etag:
            return info
        return dataclasses.replace(
            info, version_id=info.version_id or entry.version_id, sha256=entry.sha256
        )

    def flat(self) -> dict[str, Entry]:
        """Every entry in one plain dict (loads every shard). The entries are shared, not
        copied: only the dict's own slots cost memory."""
        self.load()
        out: dict[str, Entry] = {}
        with self._lock:
            for shard in self._shards.values():
                out.update(shard)
        return out

    def entries_in(self, names: Iterable[str]) -> list[Entry]:
        """The entries of the named shards only, loading just those, in path order."""
        out: list[Entry] = []
        for name in sorted(set(names)):
            out.extend((self._shard(name) or {}).values())
        return sorted(out, key=lambda e: e.path)

    def shards_for(self, prefix: str) -> list[str]:
        """Names of the shards that may hold paths under ``prefix``."""
        with self._lock:
            names = set(self._refs) | set(self._shards)
        return sorted(n for n in names if shard_may_hold(n, prefix))

    def subset(self, prefix: str) -> Manifest:
        """A new manifest of the entries under ``prefix`` (loads only their shards)."""
        return Manifest(self.entries(prefix))

    @property
    def size(self) -> int:
        """Total bytes of every entry."""
        with self._lock:
            n = sum(e.size for s in self._shards.values() for e in s.values())
            return n + sum(r.size for name, r in self._refs.items() if name not in self._shards)

    # -- identity and serialisation ---------------------------------------------------------

    def shard_ref(self, name: str) -> ShardRef | None:
        """What the stored root says of shard ``name``; ``None`` if it is not stored as read
        (changed since, or new). Two manifests whose refs for a shard are equal hold the same
        entries there, without reading it."""
        with self._lock:
            return None if name in self._dirty else self._refs.get(name)

    def shard_names(self) -> list[str]:
        """Every shard name, stored or changed, empty ones included (no shard is read)."""
        with self._lock:
            return sorted(set(self._refs) | set(self._shards))

    @property
    def base(self) -> str | None:
        """The digest of the stored version this manifest was read from, or last written as."""
        return self._base

    def _serialise(
        self, history: dict[str, object] | None = None
    ) -> tuple[dict[str, ShardRef], dict[str, bytes], bytes]:
        """Refs of every shard, blobs of the changed ones, and the root blob."""
        with self._lock:
            refs = {n: r for n, r in self._refs.items() if n not in self._dirty}
            blobs: dict[str, bytes] = {}
            for name in sorted(self._dirty):
                shard = self._shards.get(name) or {}
                if not shard:
                    refs.pop(name, None)
                    continue
                blob = encode_shard(shard.values())
                digest = sha256_bytes(blob)
                refs[name] = ShardRef(name, digest, len(shard), sum(e.size for e in shard.values()))
                blobs[digest] = blob
            root_blob = encode_root(refs.values(), history)
            return refs, blobs, root_blob

    @property
    def root(self) -> str:
        """The ``sha256:`` digest of this version's root: the dataset version's id."""
        with self._lock:
            if self._root is None:
                _, _, blob = self._serialise()
                self._root = sha256_bytes(blob)
            return self._root

    def _mark_written(self, refs: dict[str, ShardRef], root: str) -> None:
        with self._lock:
            self._refs = dict(refs)
            self._dirty.clear()
            self._root = root
            self._base = root

    def __repr__(self) -> str:
        return f"Manifest({len(self)} entries, {len(self.shards())} shards)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Manifest):
            return NotImplemented
        return self.root == other.root

    __hash__ = None  # type: ignore[assignment]
