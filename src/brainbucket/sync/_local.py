"""The local side: walk a folder (symlinks, loops, unreadable parts), hash what must be hashed."""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import re
import stat as st_mod
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .._exceptions import BrainbucketError
from .._hashing import CHUNK, TMP_SUFFIX, format_sha256
from .._progress import Callbacks
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
    prefixes: tuple[str, ...] = ()

    def __call__(self, path: str) -> bool:
        if self.prefixes and not path.startswith(self.prefixes):
            return False
        keep = True
        for kind, pattern in self.rules:
            if fnmatch.fnmatchcase(path, pattern):
                keep = kind == "include"
        if keep and self.select is not None:
            keep = bool(self.select(path))
        return keep

    @property
    def active(self) -> bool:
        return bool(self.rules) or self.select is not None or bool(self.prefixes)


# What a local file name may hold but an object key may not (see ``_paths.check_key``); the
# filesystem already excludes ``/``, NUL, empty, ``.`` and ``..`` names. One regex per name
# instead of a per-character check per path: this runs for every file on every sync.
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _key_problem(name: str, top: bool) -> str | None:
    if _BAD_NAME.search(name):
        return "has a control character or backslash"
    if len(name.encode("utf-8", "surrogatepass")) > 255:
        return "has a component longer than 255 bytes"
    if top and _DRIVE.match(name):
        return "looks like a drive path"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


def _check_name(name: str, top: bool) -> str | None:
    # Fast path for the common case: short ASCII names without control characters.
    if name.isascii() and len(name) <= 255 and not _BAD_NAME.search(name):
        return "looks like a drive path" if top and _DRIVE.match(name) else None
    return _key_problem(name, top)


def _remove_if_stale(path: str) -> None:
    # A temporary file untouched this long belongs to a download that was killed: no writer
    # leaves its own file alone for an hour. Resumable partials are kept (they are resumed).
    with contextlib.suppress(OSError):
        if time.time() - os.stat(path, follow_symlinks=False).st_mtime > STALE_SECONDS:
            os.unlink(path)


STALE_SECONDS = 3600


def scan(
    root: Path, *, filters: Filters, follow_symlinks: bool = True, clean_stale: bool = False
) -> Scan:
    """Walk ``root`` and return its files (those the filters keep).

    Symlinks are followed unless ``follow_symlinks`` is false (then skipped); a link back to
    an enclosing folder is reported as a loop, a dangling link as broken. Unreadable folders
    and names that cannot be object keys are reported; the walk goes on. With
    ``clean_stale``, temporary files of killed downloads older than an hour are removed.
    """
    out = Scan()
    files = out.files
    keep = filters if filters.active else None
    root_st = os.stat(root)
    S_ISDIR, S_ISREG = st_mod.S_ISDIR, st_mod.S_ISREG
    # (folder path, its dataset prefix, (dev, inode) of it and its ancestors)
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (str(root), "", frozenset({(root_st.st_dev, root_st.st_ino)}))
    ]
    while stack:
        folder, prefix, ancestors = stack.pop()
        top = not prefix
        try:
            it = os.scandir(folder)
        except OSError as exc:
            out.errors.append((prefix or ".", f"cannot read folder: {exc.strerror or exc}"))
            continue
        with it:
            for de in it:
                name = de.name
                if name.endswith(TMP_SUFFIX):
                    if clean_stale and not name.endswith(".resume" + TMP_SUFFIX):
                        _remove_if_stale(de.path)
                    continue
                if top and name == META_DIR:
                    continue
                rel = prefix + name
                is_link = False
                try:
                    is_link = de.is_symlink()
                    if is_link and not follow_symlinks:
                        out.skipped_symlinks += 1
                        continue
                    s = de.stat()
                except FileNotFoundError:
                    if is_link:
                        out.errors.append((rel, "broken symlink"))
                    continue
                except OSError as exc:
                    out.errors.append((rel, f"cannot stat: {exc.strerror or exc}"))
                    continue
                problem = _check_name(name, top)
                if problem is not None:
                    shown = rel.encode("utf-8", "backslashreplace").decode()
                    out.errors.append(
                        (shown, f"name cannot be part of an object key: it {problem}")
                    )
                    continue
                mode = s.st_mode
                if S_ISDIR(mode):
                    ident = (s.st_dev, s.st_ino)
                    if ident in ancestors:
                        out.errors.append(
                            (rel + "/", "symlink loop (links back to an enclosing folder)")
                        )
                        continue
                    stack.append((de.path, rel + "/", ancestors | {ident}))
                elif S_ISREG(mode) and (keep is None or keep(rel)):
                    # sockets, fifos and devices are not data and are passed over
                    files[rel] = LocalFile(rel, de.path, s.st_size, s.st_mtime_ns, s.st_ino)
    return out


def _digest(f: LocalFile, want_md5: bool, callbacks: Callbacks[LocalFile] | None = None) -> None:
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False) if want_md5 else None
    with open(f.abspath, "rb", buffering=0) as fh:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            sha.update(view[:n])
            if md5 is not None:
                md5.update(view[:n])
            if callbacks is not None:
                callbacks.on_progress(f, n)
    f.sha256 = format_sha256(sha.hexdigest())
    if md5 is not None:
        f.md5 = md5.hexdigest()


def hash_files(
    files: Sequence[LocalFile],
    *,
    md5_for: set[str] | None = None,
    threads: int | None = None,
    callbacks: Callbacks[LocalFile] | None = None,
) -> list[tuple[str, str]]:
    """Fill in ``sha256`` (and ``md5`` for paths in ``md5_for``); returns ``(path, error)``.

    ``callbacks`` hears of every file (``on_queued`` for all first), of the bytes read and of
    each file done; from the hashing threads.
    """
    errors: list[tuple[str, str]] = []
    md5_for = md5_for or set()

    def one(f: LocalFile) -> None:
        try:
            _digest(f, f.path in md5_for, callbacks)
        except OSError as exc:
            why = f"cannot read: {exc.strerror or exc}"
            errors.append((f.path, why))
            if callbacks is not None:
                callbacks.on_done(f, BrainbucketError(f"{f.path}: {why}"))
        else:
            if callbacks is not None:
                callbacks.on_done(f, None)

    if not files:
        return errors
    if callbacks is not None:
        for f in files:
            callbacks.on_queued(f)
    n = threads or min(4, (os.cpu_count() or 2))
    total = sum(f.size for f in files)
    if n <= 1 or len(files) == 1 or total < 8 * CHUNK:
        for f in files:
            one(f)
        return errors
    # hashlib releases the GIL on large buffers, so threads use every core; files go in
    # batches so that many small files do not cost a hand-off each.
    batches: list[list[LocalFile]] = [[] for _ in range(n * 4)]
    for i, f in enumerate(sorted(files, key=lambda f: -f.size)):
        batches[i % len(batches)].append(f)

    def run(batch: list[LocalFile]) -> None:
        for f in batch:
            one(f)

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(run, batches))
    return errors
