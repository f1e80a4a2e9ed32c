"""Hashes of local files, remembered by (path, size, mtime_ns, inode), so nothing is re-hashed
while it stays unchanged.

Rows are kept per (local folder, remote dataset) pair, together with the manifest root the
pair's last clean sync left: when the remote still has that root, a file whose stat matches
its row is known identical without reading any manifest shard. One SQLite file in the state
folder. The cache only saves work: if it cannot be opened or
written (read-only home, a locked database on a network filesystem), sync goes on without it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["StatCache"]

# A file modified within this window of its hashing could change again within the same
# mtime tick; such entries are not trusted later.
_RACY_NS = 2_000_000_000

_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL, remote TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (root, remote, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS synced (
    root TEXT NOT NULL, remote TEXT NOT NULL, manifest_root TEXT NOT NULL,
    PRIMARY KEY (root, remote)
) WITHOUT ROWID;
"""

Row = tuple[int, int, int, str]  # size, mtime_ns, inode, sha256


class StatCache:
    """``(root, path) → (size, mtime_ns, inode, sha256)`` for one remote dataset.

    Parameters
    ----------
    path
        The SQLite file; ``None`` disables the cache.
    remote
        Identity of the remote side (URL and endpoint).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> cache = StatCache(d / "hashes.sqlite", "s3://study")
    >>> cache.update(d, [("a.txt", 1, 5, 7, "sha256:" + "0" * 64)], now_ns=10**12)
    >>> cache.load(d)["a.txt"][0]
    1
    """

    def __init__(self, path: Path | None, remote: str = "") -> None:
        self.path = path
        self.remote = remote
        self._db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=10, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                if db.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                    # Another layout (an older brainbucket): it is only a cache, start afresh.
                    db.executescript("DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS synced;")
                    db.executescript(_SCHEMA)
                    db.execute(f"PRAGMA user_version = {_VERSION}")
                self._db = db
            except (sqlite3.Error, OSError):
                self._db = None

    @staticmethod
    def _root(root: str | os.PathLike[str]) -> str:
        return os.path.abspath(root)

    def load(self, root: str | os.PathLike[str]) -> dict[str, Row]:
        """Every remembered file under ``root``."""
        if self._db is None:
            return {}
        try:
            cur = self._db.execute(
                "SELECT path, size, mtime_ns, inode, sha256 FROM files WHERE root = ? AND remote = ?",
                (self._root(root), self.remote),
            )
            return {p: (s, m, i, h) for p, s, m, i, h in cur}
        except sqlite3.Error:
            return {}

    def update(
        self,
        root: str | os.PathLike[str],
        rows: Iterable[tuple[str, int, int, int, str]],
        *,
        now_ns: int | None = None,
    ) -> None:
        """Remember ``(path, size, mtime_ns, inode, sha256)`` rows (racy ones are skipped)."""
        if self._db is None:
            return
        limit = (now_ns if now_ns is not None else time.time_ns()) - _RACY_NS
        r = self._root(root)
        remote = self.remote
        batch = [(r, remote, p, s, m, i, h) for p, s, m, i, h in rows if m < limit]
        if not batch:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
            self._db.execute("COMMIT")

    def forget(self, root: str | os.PathLike[str], paths: Iterable[str]) -> None:
        if self._db is None:
            return
        r = self._root(root)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.executemany(
                "DELETE FROM files WHERE root = ? AND remote = ? AND path = ?",
                [(r, self.remote, p) for p in paths],
            )
            self._db.execute("COMMIT")

    def synced_root(self, root: str | os.PathLike[str]) -> str | None:
        """The manifest root this pair's last clean sync left, if any."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT manifest_root FROM synced WHERE root = ? AND remote = ?",
                (self._root(root), self.remote),
            ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else str(row[0])

    def set_synced(self, root: str | os.PathLike[str], manifest_root: str | None) -> None:
        """Record (or, with ``None``, clear) the manifest root of a clean sync."""
        if self._db is None:
            return
        with contextlib.suppress(sqlite3.Error):
            if manifest_root is None:
                self._db.execute(
                    "DELETE FROM synced WHERE root = ? AND remote = ?",
                    (self._root(root), self.remote),
                )
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO synced VALUES (?, ?, ?)",
                    (self._root(root), self.remote, manifest_root),
                )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
