"""Many small downloads at once on one thread: non-blocking sockets under one selector.

Why: below a megabyte a download is mostly per-request work (sign, send, parse the answer,
create, write and rename a file), and spread over worker threads every blocking step is also a
hand-over of Python's GIL: ~80 futex calls a file, measured with strace on 5,000 files of
4 KiB. One thread that keeps many connections busy does the same work without the hand-overs, as
event-driven HTTP clients do.

Only the plain case is handled here: ``200`` with a ``Content-Length`` over plain HTTP, read
whole into memory, verified, then written under a temporary name and renamed into place, so a
file is never seen half-written. Anything else (an error status, a connection that breaks,
an answer that stalls, a body larger than :data:`LIMIT`) hands the object to a fallback,
:meth:`~brainbucket.store._http.DirectGet.fetch` on a helper thread, which owns the retries,
resumption and error wording: an unusual answer costs one request more, never a different
outcome.
"""

from __future__ import annotations

import errno
import queue
import selectors
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ..._exceptions import BrainbucketError
from ..._hashing import write_verified
from ..._types import Expected
from ._direct import Abort, Cancelled
from ._wire import READ_TIMEOUT, ProtocolError, header_line, http_time, status_line

__all__ = ["LIMIT", "Fetch", "SmallGets"]

# Objects up to this size are read whole into memory; at most one per connection at a time.
LIMIT = 1024 * 1024
CONNECTIONS = 32
_SIGN_BATCH = 64  # obstore signs a list of keys for ~half the cost of one call each
_TICK = 0.05  # how often the loop looks at the stop flag and at fallbacks that finished
_MAX_HEAD = 65536
_HELPERS = 4


@dataclass(slots=True, eq=False)
class Fetch:
    """One object to fetch to ``dest``, and what its bytes must match.

    ``tag`` is the caller's, handed back with the result. ``durable``: ``fsync`` the file
    before its rename (``None``: as ``BRAINBUCKET_FSYNC`` says).
    """

    path: str
    key: str
    dest: str
    what: str
    expected: Expected
    keep_mtime: bool = False
    tag: Any = None
    durable: bool | None = None


# done(fetch, sha256 digest or None, bytes received, error or None)
Done = Callable[[Fetch, "str | None", int, "BaseException | None"], None]
Fallback = Callable[[Fetch, Abort], tuple[str, int]]


class _Slot:
    """One connection and the object it is fetching."""

    __slots__ = (
        "buf",
        "deadline",
        "head",
        "keep",
        "length",
        "mtime",
        "out",
        "request",
        "retried",
        "reused",
        "sock",
    )

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.reused = False  # the connection has carried an answer before
        self.reset(b"")

    def reset(self, request: bytes) -> None:
        self.request = request
        self.out = request  # what the socket has not taken yet
        self.buf = bytearray()
        self.head = -1  # where the body starts, once the headers are in
        self.length = 0
        self.keep = False  # the answer lets the connection carry another request
        self.mtime: float | None = None
        self.retried = False
        self.deadline = time.monotonic() + READ_TIMEOUT


class _Unusual(ProtocolError):
    """An answer this path does not take (error status, no length, chunked...)."""


class SmallGets:
    """Fetch many small objects over ``connections`` kept-alive connections on one thread.

    Parameters
    ----------
    sign_many
        Presigned GET URLs (``http://``) for a list of ``(key, version_id)`` pairs, in order.
    fallback
        Fetches one object the slow, careful way (retries, resumption, error wording); runs
        on a helper thread with an :class:`Abort` the loop cancels when it stops.
    connections
        Connections kept busy at once.
    """

    def __init__(
        self,
        sign_many: Callable[[list[tuple[str, str | None]]], list[str]],
        fallback: Fallback,
        *,
        connections: int = CONNECTIONS,
    ) -> None:
        self._sign_many = sign_many
        self._fallback_fn = fallback
        self._connections = max(1, connections)
        self._addr: tuple[Any, ...] | None = None
        self._family = socket.AF_INET
        self._netloc = ""
        self._mtimes: dict[str, float | None] = {}

    def run(self, items: Iterable[Fetch], done: Done, stop: threading.Event) -> None:
        """Fetch every object in ``items``; each result goes to ``done`` on this thread.

        Returns when all are done, or soon after ``stop`` is set (nothing half-written is
        left behind: files land whole or not at all).
        """
        _Run(self, iter(items), done, stop).loop()


class _Run:
    """The state of one :meth:`SmallGets.run`."""

    def __init__(self, gets: SmallGets, items: Iterator[Fetch], done: Done, stop: threading.Event):
        self.g = gets
        self.items = items
        self.done = done
        self.stop = stop
        self.sel = selectors.DefaultSelector()
        self.pending: deque[tuple[Fetch, bytes]] = deque()  # signed, waiting for a connection
        self.exhausted = False
        self.free: list[_Slot] = []
        self.busy: dict[_Slot, Fetch] = {}
        self.made = 0
        self.helpers: ThreadPoolExecutor | None = None
        self.returned: queue.SimpleQueue[tuple[Fetch, Future[tuple[str, int]]]] = (
            queue.SimpleQueue()
        )
        self.aborts: dict[Future[tuple[str, int]], Abort] = {}
        self.rbuf = memoryview(bytearray(262144))  # every read lands here first

    # -- the loop -------------------------------------------------------------------------

    def loop(self) -> None:
        try:
            next_check = time.monotonic() + 1.0
            while not self.stop.is_set():
                self._start_work()
                if not self.busy and not self.aborts and self._all_taken():
                    return
                for key, _ in self.sel.select(_TICK):
                    slot = key.data
                    if slot.out:
                        self._send(slot)
                    else:
                        self._receive(slot)
                self._collect_fallbacks()
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + 1.0
                    for slot in [s for s in self.busy if s.deadline < now]:
                        self._give_up(slot, TimeoutError("no answer in time"))
        finally:
            self._close()

    def _all_taken(self) -> bool:
        return self.exhausted and not self.pending

    def _start_work(self) -> None:
        while not self._all_taken() and (self.free or self.made < self.g._connections):
            if not self.pending:
                self._sign_more()
                continue
            fetch, request = self.pending.popleft()
            if self.free:
                slot = self.free.pop()
            else:
                slot = _Slot()
                self.made += 1
            self._begin(slot, fetch, request)

    def _sign_more(self) -> None:
        batch = list(islice(self.items, _SIGN_BATCH))
        if not batch:
            self.exhausted = True
            return
        try:
            urls = self.g._sign_many([(w.key, w.expected.version_id) for w in batch])
        except BrainbucketError:
            urls = []
            for w in batch:  # sign one by one: only the key at fault fails
                try:
                    urls.append(self.g._sign_many([(w.key, w.expected.version_id)])[0])
                except BrainbucketError as exc:
                    self.done(w, None, 0, exc)
                    urls.append("")
        for fetch, url in zip(batch, urls, strict=True):
            if not url:
                continue
            # http://netloc/path?query; one endpoint for every key of a store.
            scheme, _, netloc, target = url.split("/", 3)
            if scheme != "http:" or (self.g._netloc and netloc != self.g._netloc):
                self._fallback(fetch)
                continue
            if not self.g._netloc:
                try:
                    self._resolve(netloc)
                except OSError:
                    self._fallback(fetch)  # it words the failure (unreachable...) properly
                    continue
            request = f"GET /{target} HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode("latin-1")
            self.pending.append((fetch, request))

    def _resolve(self, netloc: str) -> None:
        parts = urllib.parse.urlsplit(f"http://{netloc}")
        info = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
        self.g._family, _, _, _, self.g._addr = info[0]
        self.g._netloc = netloc

    # -- one object -----------------------------------------------------------------------

    def _begin(self, slot: _Slot, fetch: Fetch, request: bytes) -> None:
        slot.reset(request)
        self.busy[slot] = fetch
        if slot.sock is None:
            self._connect(slot)  # sends once connected
            return
        self._send(slot)

    def _connect(self, slot: _Slot) -> None:
        try:
            sock = socket.socket(self.g._family, socket.SOCK_STREAM)
        except OSError as exc:
            self._give_up(slot, exc)
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        slot.sock = sock
        slot.reused = False
        err = sock.connect_ex(self.g._addr)  # type: ignore[arg-type]
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self._give_up(slot, OSError(err, "connect failed"))
            return
        # Writable once connected (or failed: the send then says why).
        self.sel.register(sock, selectors.EVENT_WRITE, slot)

    def _send(self, slot: _Slot) -> None:
        assert slot.sock is not None
        try:
            n = slot.sock.send(slot.out)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            if not self._reopen_stale(slot):
                self._give_up(slot, exc)
            return
        slot.out = slot.out[n:]
        events = selectors.EVENT_WRITE if slot.out else selectors.EVENT_READ
        key = self.sel.get_map().get(slot.sock)
        if key is None:
            self.sel.register(slot.sock, events, slot)
        elif key.events != events:
            self.sel.modify(slot.sock, events, slot)

    def _receive(self, slot: _Slot) -> None:
        assert slot.sock is not None
        try:
            n = slot.sock.recv_into(self.rbuf)
        except BlockingIOError:
            return
        except OSError as exc:
            if not self._reopen_stale(slot):
                self._give_up(slot, exc)
            return
        if slot not in self.busy:  # an idle connection the server closed (or talked on)
            self._drop(slot)
            return
        if not n:
            if not self._reopen_stale(slot):
                self._give_up(slot, ConnectionError("the connection closed mid-answer"))
            return
        fetch = self.busy[slot]
        slot.buf += self.rbuf[:n]
        slot.deadline = time.monotonic() + READ_TIMEOUT
        try:
            if slot.head < 0 and not self._parse_head(slot, fetch):
                return
            body = len(slot.buf) - slot.head
            if body < slot.length:
                return
            if body > slot.length:
                msg = "more bytes than announced"
                raise _Unusual(msg)
        except (ProtocolError, ValueError) as exc:
            self._give_up(slot, exc)
            return
        self._land(slot, fetch)

    def _reopen_stale(self, slot: _Slot) -> bool:
        """Send the request again on a fresh connection if the kept-alive one was dead.

        A server may close an idle connection just as a request goes out on it: the request
        then meets an end of file, a reset or a broken pipe before any answer. That is not a
        failure of the network, so it costs no fallback; once per request.
        """
        fetch = self.busy.get(slot)
        if fetch is None or slot.buf or not slot.reused or slot.retried:
            return False
        self._drop(slot)
        self._begin(slot, fetch, slot.request)
        slot.retried = True
        return True

    def _parse_head(self, slot: _Slot, fetch: Fetch) -> bool:
        end = slot.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(slot.buf) > _MAX_HEAD:
                msg = "headers too long"
                raise _Unusual(msg)
            return False
        lines = bytes(slot.buf[:end]).split(b"\r\n")
        version, status = status_line(lines[0])
        if status != 200 or version != b"HTTP/1.1":
            raise _Unusual(lines[0][:40].decode("latin-1"))
        length = -1
        slot.keep = True
        for line in lines[1:]:
            name, value = header_line(line)
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                msg = "chunked"
                raise _Unusual(msg)
            elif name == "connection":
                slot.keep = value.lower() != "close"
            elif name == "last-modified" and fetch.keep_mtime:
                if value not in self.g._mtimes:
                    self.g._mtimes[value] = http_time(value)
                slot.mtime = self.g._mtimes[value]
        if length < 0 or length > LIMIT:
            msg = "no length, or too large to hold"
            raise _Unusual(msg)
        slot.head = end + 4
        slot.length = length
        return True

    def _land(self, slot: _Slot, fetch: Fetch) -> None:
        del self.busy[slot]
        body = memoryview(slot.buf)[slot.head :]
        try:
            digest = write_verified(
                fetch.dest,
                body,
                fetch.expected,
                what=fetch.what,
                mtime=slot.mtime,
                durable=fetch.durable,
            )
        except (BrainbucketError, OSError) as exc:
            self.done(fetch, None, len(body), exc)
        else:
            self.done(fetch, digest, len(body), None)
        finally:
            body.release()
        if slot.keep:
            slot.reused = True
        else:
            self._drop(slot)
        slot.buf = bytearray()
        self.free.append(slot)

    # -- the unusual ----------------------------------------------------------------------

    def _give_up(self, slot: _Slot, exc: BaseException) -> None:
        """This connection is done for; its object goes to the careful path."""
        del exc  # the fallback meets the same trouble again and words it properly
        self._drop(slot)
        fetch = self.busy.pop(slot, None)
        if fetch is not None:
            self.free.append(slot)
            self._fallback(fetch)

    def _drop(self, slot: _Slot) -> None:
        if slot.sock is not None:
            if slot.sock in self.sel.get_map():
                self.sel.unregister(slot.sock)
            slot.sock.close()
            slot.sock = None
        slot.reused = False

    def _fallback(self, fetch: Fetch) -> None:
        if self.helpers is None:
            self.helpers = ThreadPoolExecutor(_HELPERS, thread_name_prefix="brainbucket-dl-slow")
        abort = Abort()
        fut = self.helpers.submit(self.g._fallback_fn, fetch, abort)
        self.aborts[fut] = abort
        fut.add_done_callback(lambda f: self.returned.put((fetch, f)))

    def _collect_fallbacks(self) -> None:
        while True:
            try:
                fetch, fut = self.returned.get_nowait()
            except queue.Empty:
                return
            self.aborts.pop(fut, None)
            exc = fut.exception()
            if isinstance(exc, Cancelled):
                continue
            if exc is None:
                digest, size = fut.result()
                self.done(fetch, digest, size, None)
            else:
                self.done(fetch, None, 0, exc)

    def _close(self) -> None:
        for abort in self.aborts.values():
            abort.cancel()
        if self.helpers is not None:
            self.helpers.shutdown(wait=True)  # their temporary files are gone when they end
        for slot in [*self.busy, *self.free]:
            self._drop(slot)
        self.sel.close()
