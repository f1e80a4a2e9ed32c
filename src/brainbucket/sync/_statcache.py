"""Hashes of local files, remembered by (path, size, mtime_ns, inode), so nothing is re-hashed
while it stays unchanged.

One SQLite file in the state folder. The cache only saves work: if it cannot be opened or
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (root, path)
) WITHOUT ROWID
"""

Row = tuple[int, int, int, str]  # size, mtime_ns, inode, sha256


class StatCache:
    """``(root, path) → (size, mtime_ns, inode, sha256)``.

    Parameters
    ----------
    path
        The SQLite file; ``None`` disables the cache.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> cache = StatCache(d / "hashes.sqlite")
    >>> cache.update(d, [("a.txt", 1, 5, 7, "sha256:" + "0" * 64)], now_ns=10**12)
    >>> cache.load(d)["a.txt"][0]
    1
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=10, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(_SCHEMA)
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
                "SELECT path, size, mtime_ns, inode, sha256 FROM files WHERE root = ?",
                (self._root(root),),
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
        batch = [(r, p, s, m, i, h) for p, s, m, i, h in rows if m < limit]
        if not batch:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", batch)
            self._db.execute("COMMIT")

    def forget(self, root: str | os.PathLike[str], paths: Iterable[str]) -> None:
        if self._db is None:
            return
        r = self._root(root)
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("BEGIN")
            self._db.executemany(
                "DELETE FROM files WHERE root = ? AND path = ?", [(r, p) for p in paths]
            )
            self._db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
