"""Digests that name their algorithm (``sha256:ab12…``), and the verify-then-rename writer.

Every upload computes two digests of the same bytes in one read: SHA-256, the content's
identity in the manifest (what change detection compares), and BLAKE3, which downloads check.
Both are 256-bit cryptographic hashes; BLAKE3 runs ~10x faster on CPUs without SHA
instructions (here ~4.7 GB/s against ~0.4 GB/s a core), so checking it keeps verified
downloads as fast as unverified ones. Because the manifest records both digests of one buffer,
bytes that match its BLAKE3 are the bytes its SHA-256 names.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import os
import re
import secrets
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import blake3 as _blake3

from ._config import _env_bool
from ._exceptions import IntegrityError

if TYPE_CHECKING:
    from ._types import Expected

__all__ = [
    "CHUNK",
    "ContentHasher",
    "StreamCheck",
    "VerifiedWriter",
    "b64_to_digest",
    "blake3_bytes",
    "check_digest",
    "content_digests",
    "flush_each_file",
    "format_blake3",
    "format_sha256",
    "hex_of",
    "plain_md5",
    "sha256_bytes",
    "sha256_file",
    "write_verified",
]

# ~1 MiB reads: large enough to keep syscalls and Python overhead low, small enough that a
# hundred transfers in flight stay well under the memory budget.
CHUNK = 1 << 20
TMP_SUFFIX = ".bbpart"
_MAX_NAME_BYTES = 255
# Files are written 32 KiB at a time, as Go's io.Copy does (the peers in benchmarks/). The
# kernel sizes the page-cache folios of a write by its length, and filling large fresh folios
# measured 0.3-0.8 CPU-s slower per 1.34 GB than 32 KiB writes on a virtual machine (the host
# backs such memory on first touch); the extra system calls cost ~0.04 s.
_WRITE_PIECE = 32 * 1024
_MD5_RE = re.compile(r"^[0-9a-f]{32}$")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def flush_each_file() -> bool:
    """Whether downloads ``fsync`` each file before renaming it (``BRAINBUCKET_FSYNC``).

    The default of every writer not told otherwise (``durable=None``); entry points pass the
    value their :class:`~brainbucket._config.Config` holds. Off by default: a killed process never leaves a partial file either way (the rename comes
    after the last write), and flushing costs ~0.15 ms a file plus a wait for the disk. After a
    power cut an unflushed file can come back empty or short; sizes are always compared, so the
    next sync or ``verify`` finds it and fetches it again.
    """
    return _env_bool("BRAINBUCKET_FSYNC")


def plain_md5(etag: str | None) -> str | None:
    """The MD5 an S3 ETag stands for, when it is a plain one (not multipart, not encrypted).

    Examples
    --------
    >>> plain_md5('"5d41402abc4b2a76b9719d911017c592"')
    '5d41402abc4b2a76b9719d911017c592'
    >>> plain_md5("5d41402abc4b2a76b9719d911017c592-2") is None
    True
    """
    if not etag:
        return None
    etag = etag.strip('"').lower()
    return etag if _MD5_RE.match(etag) else None


def format_sha256(hexdigest: str) -> str:
    return f"sha256:{hexdigest}"


def format_blake3(hexdigest: str) -> str:
    return f"blake3:{hexdigest}"


def hex_of(digest: str, algorithm: str = "sha256") -> str:
    """The hex part of ``<algorithm>:<hex>`` (plain hex is accepted too).

    Examples
    --------
    >>> hex_of("sha256:AB12")
    'ab12'
    >>> hex_of("blake3:cd34", "blake3")
    'cd34'
    """
    algo, sep, value = digest.partition(":")
    if not sep:
        return algo.lower()
    if algo.lower() != algorithm:
        msg = f"unsupported digest algorithm {algo!r} (expected {algorithm})"
        raise ValueError(msg)
    return value.lower()


def b64_to_digest(b64: str) -> str:
    return format_sha256(base64.b64decode(b64).hex())


def sha256_bytes(data: bytes | memoryview) -> str:
    """Examples
    --------
    >>> sha256_bytes(b"")[:20]
    'sha256:e3b0c44298fc1'
    """
    return format_sha256(hashlib.sha256(data).hexdigest())


def blake3_bytes(data: bytes | memoryview) -> str:
    """Examples
    --------
    >>> blake3_bytes(b"")[:20]
    'blake3:af1349b9f5f9a'
    """
    return format_blake3(_blake3.blake3(data).hexdigest())


def content_digests(data: bytes | memoryview) -> tuple[str, str]:
    """``(sha256, blake3)`` of ``data``: what the manifest records for a file.

    Examples
    --------
    >>> sha, b3 = content_digests(b"hi")
    >>> sha[:7], b3[:7]
    ('sha256:', 'blake3:')
    """
    return sha256_bytes(data), blake3_bytes(data)


class ContentHasher:
    """Both manifest digests of a stream, fed chunk by chunk.

    Examples
    --------
    >>> h = ContentHasher()
    >>> h.update(b"h"); h.update(b"i")
    >>> (h.sha256, h.blake3) == content_digests(b"hi")
    True
    """

    __slots__ = ("_b3", "_sha")

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._b3 = _blake3.blake3()

    def update(self, chunk: bytes | memoryview) -> None:
        self._sha.update(chunk)
        self._b3.update(chunk)

    @property
    def sha256(self) -> str:
        return format_sha256(self._sha.hexdigest())

    @property
    def blake3(self) -> str:
        return format_blake3(self._b3.hexdigest())


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hash a file in ~1 MiB chunks; returns ``sha256:<hex>``."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
    return format_sha256(h.hexdigest())


_PROCESS_TOKEN = secrets.token_hex(4)
_COUNTER = itertools.count()


def _new_process_token() -> None:
    global _PROCESS_TOKEN
    _PROCESS_TOKEN = secrets.token_hex(4)


# A forked child would otherwise draw the same names as its parent.
os.register_at_fork(after_in_child=_new_process_token)


def _tmp_name(name: str) -> str:
    """A private temporary name beside ``name``, within the 255-byte limit of one component.

    A final name near that limit is legal, but the temporary name adds a prefix and suffix;
    then a digest of the name stands in for it.
    """
    # Unique across processes (a random prefix drawn once per process, whose pid may be
    # shared by containers) and across threads (a counter whose next() is atomic).
    token = f"{_PROCESS_TOKEN}{next(_COUNTER):x}"
    tmp = f".{name}.{token}{TMP_SUFFIX}"
    if len(tmp.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
        short = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        tmp = f".{short}.{token}{TMP_SUFFIX}"
    return tmp


def check_digest(what: str, algorithm: str, got: str, expected: str | None) -> None:
    """Raise IntegrityError naming ``what`` if hex digest ``got`` is not ``expected``."""
    if expected is not None and got != expected:
        msg = f"{what}: {algorithm} {got[:16]}… does not match the expected {expected[:16]}…"
        raise IntegrityError(msg)


class VerifiedWriter:
    """Write to a private temporary file beside ``dest``; verify; then rename into place.

    Each writer has its own temporary name, so concurrent writers of one destination (several
    processes, or a shared cluster filesystem where locks do not hold) never interleave bytes;
    the last verified rename wins, and every candidate is complete. A crash leaves only a
    ``*.bbpart`` file, never a truncated file under the real name.

    Parameters
    ----------
    dest
        Final path.
    expected
        What the bytes must match (:class:`~brainbucket.Expected`), checked in
        :meth:`commit`; a field left ``None`` is not checked. With both ``sha256`` and
        ``blake3`` (a manifest records both) only BLAKE3 is computed and checked: ~10x
        cheaper than SHA-256 on CPUs without SHA instructions, and just as strong. ``md5``
        (a plain S3 ETag, when no sha256 is known) is computed only when given.
    want_blake3
        Also compute BLAKE3 (see :attr:`blake3`), e.g. to record it in a manifest.
    what
        Name used in error messages (e.g. the remote key).
    durable
        ``fsync`` the file before the rename, so it survives a power cut; default
        ``BRAINBUCKET_FSYNC`` (off, as in aws-cli, s5cmd and rclone: a kill or a crash of the
        process never leaves a partial file either way).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> from brainbucket import Expected
    >>> with VerifiedWriter(dest, Expected(size=2)) as w:
    ...     w.write(b"hi")
    ...     _ = w.commit()
    >>> dest.read_text()
    'hi'
    """

    def __init__(
        self,
        dest: str | os.PathLike[str],
        expected: Expected | None = None,
        *,
        what: str | None = None,
        want_blake3: bool = False,
        durable: bool | None = None,
    ) -> None:
        self.durable = durable if durable is not None else flush_each_file()
        # Plain strings and a raw descriptor: downloads of small files are mostly this
        # bookkeeping, and every system call spared (Python's open() adds an ioctl, an lseek
        # and a stat) is a GIL hand-over spared on the transfer threads.
        self.dest = os.fspath(dest)
        sha256 = blake3 = md5 = None
        self.expected_size: int | None = None
        if expected is not None:
            self.expected_size = expected.size
            sha256, blake3, md5 = expected.sha256, expected.blake3, expected.md5
        self.expected_sha256 = hex_of(sha256) if sha256 else None
        self.expected_blake3 = hex_of(blake3, "blake3") if blake3 else None
        self.what = what or self.dest
        folder, name = os.path.split(self.dest)
        self.tmp = os.path.join(folder, _tmp_name(name))
        try:
            self._fd = os.open(self.tmp, _CREATE, 0o666)
        except FileNotFoundError:
            # Make the folder only when it is missing: one system call less per file.
            os.makedirs(folder or ".", exist_ok=True)
            self._fd = os.open(self.tmp, _CREATE, 0o666)
        # Only BLAKE3 when the SHA-256 it stands for is known; SHA-256 otherwise (the digest
        # commit() returns); both when only BLAKE3 is known.
        self._fast = self.expected_blake3 is not None and self.expected_sha256 is not None
        self._h: Any = _blake3.blake3() if self._fast else hashlib.sha256()
        self._b3 = (
            _blake3.blake3()
            if (self.expected_blake3 is not None or want_blake3) and not self._fast
            else None
        )
        self.expected_md5 = md5.lower() if md5 else None
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self.size = 0
        self._done = False

    def write(self, chunk: bytes | memoryview) -> None:
        if len(chunk) <= _WRITE_PIECE:
            n = os.write(self._fd, chunk)
        else:
            chunk, n = memoryview(chunk), 0
        while n < len(chunk):  # in pieces; and a short write (rare on files) goes on
            n += os.write(self._fd, chunk[n : n + _WRITE_PIECE])
        self._h.update(chunk)
        if self._b3 is not None:
            self._b3.update(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        self.size += len(chunk)

    def commit(self, *, mtime: float | None = None) -> str:
        """Verify and rename into place; returns the ``sha256:`` digest.

        ``mtime`` (POSIX seconds) is set before the rename, so the file never shows up under
        its real name with another modification time.

        Raises
        ------
        IntegrityError
            On a size or digest mismatch; the temporary file is removed.
        """
        if mtime is not None:
            with contextlib.suppress(OSError, OverflowError, ValueError):
                os.utime(self._fd, (time.time(), mtime))
        if self.durable:
            os.fsync(self._fd)
        self._close()
        digest = self._h.hexdigest()
        try:
            if self.expected_size is not None and self.size != self.expected_size:
                msg = f"{self.what}: size {self.size} does not match the expected {self.expected_size}"
                raise IntegrityError(msg)
            if self._fast:
                check_digest(self.what, "blake3", digest, self.expected_blake3)
                digest = self.expected_sha256  # type: ignore[assignment]
            else:
                check_digest(self.what, "sha256", digest, self.expected_sha256)
                if self._b3 is not None:
                    check_digest(self.what, "blake3", self._b3.hexdigest(), self.expected_blake3)
            if self._md5 is not None and self._md5.hexdigest() != self.expected_md5:
                msg = f"{self.what}: MD5 does not match the server's ETag {self.expected_md5}"
                raise IntegrityError(msg)
            os.replace(self.tmp, self.dest)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return format_sha256(digest)

    @property
    def blake3(self) -> str | None:
        """``blake3:<hex>`` of what was written, when it was computed (or checked)."""
        if self._fast:
            return format_blake3(self.expected_blake3)  # type: ignore[arg-type]
        return None if self._b3 is None else format_blake3(self._b3.hexdigest())

    def _close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def abort(self) -> None:
        self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        self._done = True

    def __enter__(self) -> VerifiedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._done:
            self.abort()


class StreamCheck:
    """Size and digests of bytes sent where they cannot be taken back (standard output),
    checked against an :class:`~brainbucket.Expected` once the last one has gone.

    A file is verified before anyone sees it (:class:`VerifiedWriter`); a stream can only
    be verified after the fact, so :meth:`verify` says in its error that the bytes already
    written are not to be trusted.

    Examples
    --------
    >>> from brainbucket import Expected
    >>> check = StreamCheck(Expected(size=2, md5="49f68a5c8493ec2c0bf489821c21fc3b"), "s3://b/k")
    >>> check.update(b"hi")
    >>> check.verify() == sha256_bytes(b"hi")
    True
    """

    def __init__(self, expected: Expected, what: str) -> None:
        self.what = what
        self.expected_size = expected.size
        self.expected_sha256 = hex_of(expected.sha256) if expected.sha256 else None
        self.expected_blake3 = hex_of(expected.blake3, "blake3") if expected.blake3 else None
        self.expected_md5 = expected.md5.lower() if expected.md5 else None
        self._sha = hashlib.sha256()
        self._b3 = _blake3.blake3() if self.expected_blake3 else None
        self._md5 = hashlib.md5(usedforsecurity=False) if self.expected_md5 else None
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._sha.update(chunk)
        if self._b3 is not None:
            self._b3.update(chunk)
        if self._md5 is not None:
            self._md5.update(chunk)
        self.size += len(chunk)

    def verify(self) -> str:
        """The ``sha256:`` of what went through, once it matches what was expected.

        Raises
        ------
        IntegrityError
            On a size or digest mismatch, saying the bytes already written are not the
            object's.
        """
        digest = self._sha.hexdigest()
        try:
            if self.expected_size is not None and self.size != self.expected_size:
                msg = f"{self.what}: size {self.size} does not match the expected {self.expected_size}"
                raise IntegrityError(msg)
            check_digest(self.what, "sha256", digest, self.expected_sha256)
            if self._b3 is not None:
                check_digest(self.what, "blake3", self._b3.hexdigest(), self.expected_blake3)
            if self._md5 is not None and self._md5.hexdigest() != self.expected_md5:
                msg = f"{self.what}: MD5 does not match the server's ETag {self.expected_md5}"
                raise IntegrityError(msg)
        except IntegrityError as exc:
            raise IntegrityError(
                exc.message + "; the bytes already written cannot be taken back",
                hint="discard what was written and copy it again",
            ) from None
        return format_sha256(digest)


def write_verified(
    dest: str | os.PathLike[str],
    data: bytes | memoryview,
    expected: Expected | None = None,
    *,
    what: str | None = None,
    mtime: float | None = None,
    durable: bool | None = None,
) -> str:
    """Write ``data`` to ``dest`` through a :class:`VerifiedWriter`; returns its ``sha256:``.

    ``durable`` is the writer's: ``fsync`` before the rename (default ``BRAINBUCKET_FSYNC``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket import Expected
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> write_verified(dest, b"hi", Expected(size=2)) == sha256_bytes(b"hi")
    True
    """
    with VerifiedWriter(dest, expected, what=what, durable=durable) as w:
        w.write(data)
        return w.commit(mtime=mtime)
