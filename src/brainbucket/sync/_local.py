"""The local side: walk a folder (symlinks, loops, unreadable parts), hash what must be hashed."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat as st_mod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .._exceptions import UnsafeKeyError
from .._hashing import CHUNK, TMP_SUFFIX, format_sha256
from .._paths import check_key
from ..manifest import META_DIR

__all__ = ["Filters", "LocalFile", "Scan", "hash_files", "scan"]


@dataclass(slots=True)
class LocalFile:
    """One local file: dataset path, absolute path, stat, and digests once known."""

    path: str
    abspath: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str | None = None
    md5: str | None = None


@dataclass
class Scan:
    """What a walk found: files by dataset path, and problems by path."""

    files: dict[str, LocalFile] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped_symlinks: int = 0


@dataclass(frozen=True)
class Filters:
    """``--include``/``--exclude`` globs applied in order (the last match wins), and a predicate.

    Everything is included unless a rule says otherwise, as in ``aws s3 sync``. Patterns
    match the whole dataset path (``*`` crosses ``/``).

    Examples
    --------
    >>> f = Filters(rules=(("exclude", "*"), ("include", "sub-01/*")))
    >>> f("sub-01/anat/T1w.nii.gz"), f("sub-02/anat/T1w.nii.gz")
    (True, False)
    """

    rules: tuple[tuple[str, str], ...] = ()
    select: Callable[[str], bool] | None = None

    def __call__(self, path: str) -> bool:
        keep = True
        for kind, pattern in self.rules:
            if fnmatch.fnmatchcase(path, pattern):
                keep = kind == "include"
        if keep and self.select is not None:
            keep = bool(self.select(path))
        return keep

    @property
    def active(self) -> bool:
        return bool(self.rules) or self.select is not None


def _hidden(name: str, top: bool) -> bool:
    return name.endswith(TMP_SUFFIX) or (top and name == META_DIR)


def scan(root: Path, *, filters: Filters, follow_symlinks: bool = True) -> Scan:
    """Walk ``root`` and return its files (those the filters keep).

    Symlinks are followed unless ``follow_symlinks`` is false (then skipped); a link back to
    an enclosing folder is reported as a loop, a dangling link as broken. Unreadable folders
    and names that cannot be object keys are reported; the walk goes on.
    """
    out = Scan()
    root_st = os.stat(root)
    # (folder path, its dataset prefix, (dev, inode) of it and its ancestors)
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (str(root), "", frozenset({(root_st.st_dev, root_st.st_ino)}))
    ]
    while stack:
        folder, prefix, ancestors = stack.pop()
        try:
            it = os.scandir(folder)
        except OSError as exc:
            out.errors.append((prefix or ".", f"cannot read folder: {exc.strerror or exc}"))
            continue
        with it:
            for de in it:
                name = de.name
                if _hidden(name, not prefix):
                    continue
                rel = prefix + name
                try:
                    is_link = de.is_symlink()
                    if is_link and not follow_symlinks:
                        out.skipped_symlinks += 1
                        continue
                    s = de.stat(follow_symlinks=True)
                except FileNotFoundError:
                    if is_link:
                        out.errors.append((rel, "broken symlink"))
                    continue
                except OSError as exc:
                    out.errors.append((rel, f"cannot stat: {exc.strerror or exc}"))
                    continue
                if st_mod.S_ISDIR(s.st_mode):
                    ident = (s.st_dev, s.st_ino)
                    if ident in ancestors:
                        out.errors.append((rel + "/", "symlink loop (links back to an enclosing folder)"))
                        continue
                    stack.append((de.path, rel + "/", ancestors | {ident}))
                    continue
                if not st_mod.S_ISREG(s.st_mode):
                    continue  # sockets, fifos, devices: not data
                try:
                    check_key(rel)
                    rel.encode("utf-8")
                except (UnsafeKeyError, UnicodeEncodeError) as exc:
                    shown = rel.encode("utf-8", "backslashreplace").decode()
                    out.errors.append((shown, f"name cannot be an object key: {exc}"))
                    continue
                if filters.active and not filters(rel):
                    continue
                out.files[rel] = LocalFile(rel, de.path, s.st_size, s.st_mtime_ns, s.st_ino)
    return out


def _digest(f: LocalFile, want_md5: bool) -> None:
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    with open(f.abspath, "rb", buffering=0) as fh:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            sha.update(view[:n])
            if md5 is not None:
                md5.update(view[:n])
    f.sha256 = format_sha256(sha.hexdigest())
    if md5 is not None:
        f.md5 = md5.hexdigest()


def hash_files(
    files: Sequence[LocalFile], *, md5_for: set[str] | None = None, threads: int | None = None
) -> list[tuple[str, str]]:
    """Fill in ``sha256`` (and ``md5`` for paths in ``md5_for``); returns ``(path, error)``."""
    errors: list[tuple[str, str]] = []
    md5_for = md5_for or set()

    def one(f: LocalFile) -> None:
        try:
            _digest(f, f.path in md5_for)
        except OSError as exc:
            errors.append((f.path, f"cannot read: {exc.strerror or exc}"))

    if not files:
        return errors
    n = threads or min(4, (os.cpu_count() or 2))
    if n <= 1 or len(files) == 1:
        for f in files:
            one(f)
    else:
        # hashlib releases the GIL on large buffers, so threads use every core.
        with ThreadPoolExecutor(n) as pool:
            list(pool.map(one, files))
    return errors
