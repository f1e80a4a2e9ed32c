"""Downloads as plain HTTP GETs of presigned URLs, read straight into one reused buffer.

Why not obstore for this one verb: its response streams hand every chunk to Python as a new
``bytes`` (zero-filled, then copied), and each chunk crosses from its runtime's threads to the
event loop and on to a file thread. Measured on a 1.34 GB study, that costs ~1.5 CPU-s more
than a worker thread that reads the socket into a 256 KiB buffer it keeps (hot in cache), hashes
it and writes it: the same work s5cmd does. obstore still signs the URL (SigV4, ~30 µs) and
keeps every other request.

A download that breaks off is continued with a range request pinned to the object's ETag
(``If-Match``), so the writer keeps its hash state and nothing is read twice; an object
replaced meanwhile is a :class:`ConflictError`, never a mix of two versions. The event loop
can cut a download short at any point (:class:`Abort`): the socket is shut down and the thread
ends at once, removing its temporary file.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..._exceptions import BrainbucketError, ConflictError, ServerError
from ..._hashing import VerifiedWriter
from ..._types import Expected, ProgressCallback
from .._errors import broke_off, error_code, from_code, no_answer, stalled, unreachable
from .._settings import backoff_delay, retries
from ._wire import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    ProtocolError,
    continues_at,
    header_line,
    http_time,
    status_line,
)

if TYPE_CHECKING:
    import ssl

__all__ = ["Abort", "Cancelled", "DirectGet", "proxied"]

# Each thread's read buffer. Small enough to stay in the CPU's cache from the socket read to
# the hash and the write: measured on the 1.34 GB study, 256 KiB cost ~0.7 CPU-s less kernel
# time than 1 MiB (128 KiB: no better).
BUFFER = 256 * 1024
_MAX_IDLE = 64  # idle keep-alive connections kept per host


class Cancelled(Exception):
    """The event loop gave up on this download (Ctrl-C, or the sync stopped)."""


class Abort:
    """Lets the event loop stop a download that runs on a worker thread.

    :meth:`cancel` shuts the connection's socket down: a read blocked in the kernel returns
    at once, and the worker removes its temporary file and ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: _Conn | None = None
        self._wake = threading.Event()
        self.cancelled = False

    def attach(self, conn: _Conn) -> None:
        with self._lock:
            if self.cancelled:
                raise Cancelled
            self._conn = conn

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            self._wake.set()
            sock = self._conn.sock if self._conn is not None else None
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def sleep(self, seconds: float) -> None:
        if self._wake.wait(seconds):
            raise Cancelled


def proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through a proxy (``HTTPS_PROXY``...)."""
    if not any(k.lower().endswith("_proxy") for k in os.environ):
        return False  # the usual case, without importing urllib.request (~14 ms)
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if parts.scheme not in proxies and "all" not in proxies:
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


class _BrokenOff(ConnectionError):
    """The answer ended before its announced length."""


class _NoConnection(ConnectionError):
    """Connecting failed: nobody listening, no such host, or no answer to connect."""


class _Answer:
    """The status, headers and body of one HTTP/1.1 answer, read from a connection."""

    def __init__(self, conn: _Conn) -> None:
        rfile = conn.rfile
        assert rfile is not None
        while True:
            line = rfile.readline(65537)
            if not line:
                msg = "the connection closed before an answer"
                raise _BrokenOff(msg)
            version, self.status = status_line(line)
            self.headers = _read_headers(rfile)
            if not 100 <= self.status < 200:  # skip "100 Continue" and the like
                break
        self._rfile = rfile
        self.reusable = version == b"HTTP/1.1" and self.header("connection").lower() != "close"
        self._chunked = "chunked" in self.header("transfer-encoding").lower()
        length = self.header("content-length")
        self._left: int | None = int(length) if length.isdigit() and not self._chunked else None
        if self._left is None and not self._chunked:
            self.reusable = False  # the body runs until the server closes the connection
        self._chunk_left = 0
        self.done = self._left == 0

    def header(self, name: str) -> str:
        return self.headers.get(name, "")

    def readinto(self, buf: memoryview) -> int:
        """Fill ``buf`` with body bytes; 0 at the end of the body."""
        if self.done:
            return 0
        if self._chunked:
            return self._read_chunked(buf)
        want = len(buf) if self._left is None else min(len(buf), self._left)
        n = self._rfile.readinto(buf[:want]) or 0  # None: the kernel's read timeout
        if self._left is None:
            self.done = n == 0
            return n
        if n == 0:
            msg = f"the answer broke off with {self._left} bytes to go"
            raise _BrokenOff(msg)
        self._left -= n
        self.done = self._left == 0
        return n

    def _read_chunked(self, buf: memoryview) -> int:
        if self._chunk_left == 0:
            line = self._rfile.readline(1024)
            if not line:
                msg = "the answer broke off between chunks"
                raise _BrokenOff(msg)
            self._chunk_left = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if self._chunk_left == 0:
                _read_headers(self._rfile)  # trailers, then the end
                self.done = True
                return 0
        n = self._rfile.readinto(buf[: min(len(buf), self._chunk_left)]) or 0
        if n == 0:
            msg = "the answer broke off inside a chunk"
            raise _BrokenOff(msg)
        self._chunk_left -= n
        if self._chunk_left == 0:
            self._rfile.readline(3)  # the CRLF that ends a chunk
        return n

    def read_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the body (an error document)."""
        out = bytearray()
        buf = memoryview(bytearray(min(limit, 65536)))
        while len(out) < limit and (n := self.readinto(buf)):
            out += buf[:n]
        if not self.done:
            self.reusable = False
        return bytes(out)


def _read_headers(rfile: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(200):
        line = rfile.readline(65537)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line.endswith(b"\n"):
            msg = "the answer broke off in its headers"
            raise _BrokenOff(msg)
        name, value = header_line(line)
        headers[name] = value
    msg = "too many header lines in an answer"
    raise ProtocolError(msg)


class _Conn:
    """One keep-alive HTTP/1.1 connection; requests go out whole, answers are read buffered."""

    def __init__(self, scheme: str, netloc: str, tls: ssl.SSLContext | None) -> None:
        self.netloc = netloc
        parts = urllib.parse.urlsplit(f"{scheme}://{netloc}")
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if scheme == "https" else 80)
        self._tls = tls
        self.sock: socket.socket | None = None
        self.rfile: Any = None
        self.used = False

    def connect(self) -> None:
        try:
            sock = socket.create_connection((self._host, self._port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise _NoConnection(str(exc)) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            except OSError as exc:
                # A failed handshake (a certificate not trusted...) is a failure to connect.
                sock.close()
                raise _NoConnection(str(exc)) from exc
            # Connecting may take CONNECT_TIMEOUT; from then on, each read READ_TIMEOUT.
            sock.settimeout(READ_TIMEOUT)
        else:
            # The same limit kept by the kernel: a Python-level timeout would add a poll()
            # before every read and write, each one more GIL hand-over per small file. A read
            # that times out then ends like a broken-off answer, and is retried as one.
            limit = struct.pack("ll", int(READ_TIMEOUT), 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            sock.settimeout(None)
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=65536)

    def get(self, target: str, extra: str = "") -> _Answer:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.used = True
        head = f"GET {target} HTTP/1.1\r\nHost: {self.netloc}\r\n{extra}\r\n"
        self.sock.sendall(head.encode("latin-1"))
        return _Answer(self)

    def close(self) -> None:
        if self.rfile is not None:
            self.rfile.close()
        if self.sock is not None:
            self.sock.close()
        self.sock = self.rfile = None


class _Pool:
    """Idle keep-alive connections, per host; any thread may take one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str], list[_Conn]] = {}
        self._tls: ssl.SSLContext | None = None

    def take(self, scheme: str, netloc: str) -> _Conn:
        with self._lock:
            idle = self._idle.get((scheme, netloc))
            if idle:
                return idle.pop()
            if scheme == "https" and self._tls is None:
                import ssl  # only for HTTPS endpoints: ~10 ms of start-up otherwise

                self._tls = ssl.create_default_context()
        return _Conn(scheme, netloc, self._tls if scheme == "https" else None)

    def give(self, scheme: str, netloc: str, conn: _Conn) -> None:
        with self._lock:
            idle = self._idle.setdefault((scheme, netloc), [])
            if len(idle) < _MAX_IDLE:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for c in conns:
            c.close()


class DirectGet:
    """GET objects by presigned URL into verified files, with retries and resumption.

    Parameters
    ----------
    sign
        Returns the presigned GET URL of a key (of a version of it, when one is given).
    tries
        Retries of a failed request (default ``BRAINBUCKET_RETRIES``).
    ride
        Asked, once the retries are spent, whether to go on after waiting for the server
        (see :class:`~brainbucket.store._ride.Ride`): the read then continues where it
        stopped.
    """

    def __init__(
        self,
        sign: Callable[[str, str | None], str],
        tries: int | None = None,
        ride: Callable[[BaseException, Callable[[], bool]], bool] | None = None,
    ) -> None:
        self._sign = sign
        self._tries = tries
        self._ride = ride
        self._pool = _Pool()
        self._local = threading.local()
        # Kept-alive connections close with their getter, even when nobody calls close().
        weakref.finalize(self, self._pool.close)

    def _buffer(self) -> memoryview:
        # One buffer per thread, reused for every read: it stays in the CPU's cache between
        # the socket read, the hash and the write.
        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = memoryview(bytearray(BUFFER))
        return buf

    def close(self) -> None:
        self._pool.close()

    def fetch(
        self,
        key: str,
        dest: Any,
        *,
        what: str,
        expected: Expected,
        keep_mtime: bool,
        progress: ProgressCallback | None,
        abort: Abort | None = None,
        durable: bool | None = None,
    ) -> tuple[str, int]:
        """Download ``key`` to ``dest``, verified; returns its ``sha256:`` digest and size.

        ``durable``: ``fsync`` the file before its rename (``None``: ``BRAINBUCKET_FSYNC``).

        Raises
        ------
        BrainbucketError
            Translated S3 answers (not found, access denied...), network failures that
            outlast the retries, and :class:`~brainbucket.IntegrityError` on a mismatch.
        """
        url = urllib.parse.urlsplit(self._sign(key, expected.version_id))
        target = f"{url.path}?{url.query}"
        abort = abort or Abort()
        tries = retries() if self._tries is None else self._tries
        attempt = 0
        writer: VerifiedWriter | None = None
        etag = ""
        mtime: float | None = None
        got = 0
        buf = self._buffer()
        try:
            while True:
                conn = self._pool.take(url.scheme, url.netloc)
                reused = conn.used
                started = time.monotonic()
                answer: _Answer | None = None
                try:
                    abort.attach(conn)
                    extra = ""
                    if writer is not None:
                        # Continue where the broken-off answer stopped, from the same object.
                        extra = f"Range: bytes={got}-\r\nIf-Match: {etag or '*'}\r\n"
                    answer = conn.get(target, extra)
                    if answer.status not in (200, 206):
                        code = error_code(answer.read_some(65536).decode("utf-8", "replace"))
                        if writer is not None and answer.status in (412, 416):
                            msg = f"{what}: the object changed while it was being read"
                            raise ConflictError(msg, hint="re-run to fetch the new version")
                        err = from_code(code, answer.status, what, False)
                        if isinstance(err, ServerError) and (
                            attempt < tries or self._rides(err, abort)
                        ):
                            self._done_with(url, conn, answer)
                            attempt = attempt + 1 if attempt < tries else 0
                            abort.sleep(backoff_delay(max(attempt, 1)))
                            continue
                        raise err
                    if writer is None:
                        etag = answer.header("etag")
                        if keep_mtime:
                            mtime = http_time(answer.header("last-modified"))
                        length = answer.header("content-length")
                        if expected.size is None and length.isdigit():
                            expected = Expected(int(length), *_checks(expected))
                        writer = VerifiedWriter(dest, expected, what=what, durable=durable)
                    elif not continues_at(answer.status, answer.header("content-range"), got):
                        msg = f"{what}: the server did not continue the read where it stopped"
                        raise ConflictError(msg, hint="re-run")
                    while n := answer.readinto(buf):
                        writer.write(buf[:n])
                        got += n
                        if progress is not None:
                            progress(n)
                except BrainbucketError:
                    conn.close()
                    raise
                except OSError as exc:
                    conn.close()
                    if abort.cancelled:
                        raise Cancelled from exc
                    stalled = time.monotonic() - started >= READ_TIMEOUT
                    if reused and answer is None and not stalled:
                        # A kept-alive connection the server had already closed: not a
                        # failure of the network, so try again at once on a fresh one.
                        continue
                    if attempt >= tries:
                        where = f"{url.scheme}://{url.netloc}"
                        err = _gave_up(exc, what, answer is not None, stalled, where)
                        if not self._rides(err, abort):
                            raise err from exc
                        attempt = 0  # the server is back: continue where the read stopped
                        continue
                    attempt += 1
                    abort.sleep(backoff_delay(attempt))
                    continue
                finally:
                    abort.detach()
                self._done_with(url, conn, answer)
                return writer.commit(mtime=mtime), got
        except BaseException:
            if writer is not None:
                writer.abort()
            raise

    def _rides(self, err: BaseException, abort: Abort) -> bool:
        """Whether to go on after waiting for a server that went away (not once cancelled)."""
        if self._ride is None or abort.cancelled:
            return False
        go_on = self._ride(err, lambda: abort.cancelled)
        if abort.cancelled:
            raise Cancelled
        return go_on

    def _done_with(self, url: urllib.parse.SplitResult, conn: _Conn, answer: _Answer) -> None:
        if answer.reusable and answer.done:
            self._pool.give(url.scheme, url.netloc, conn)
        else:
            conn.close()


def _checks(e: Expected) -> tuple[str | None, str | None, str | None]:
    return e.sha256, e.blake3, e.md5


def _gave_up(
    exc: BaseException, what: str, answered: bool, stalled_: bool, endpoint: str
) -> BrainbucketError:
    """The error for a network failure that outlasted the retries."""
    if isinstance(exc, BrainbucketError):
        return exc
    if isinstance(exc, _NoConnection):
        return unreachable(what, endpoint)
    if stalled_ or isinstance(exc, TimeoutError):
        return stalled(what)
    return broke_off(what) if answered else no_answer(what)
