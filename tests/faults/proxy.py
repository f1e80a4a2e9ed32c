"""A loopback HTTP fault proxy for the S3 test server.

It sits between a client and the server, understands just enough HTTP/1.1 to find request and
response boundaries on keep-alive connections, and applies scheduled faults per request:

- ``pass``: forward unchanged;
- ``drop``: read the request, close the connection without answering;
- ``reset``: read the request, then abort the connection with a TCP reset;
- ``stall``: wait ``seconds`` before forwarding (the request still succeeds);
- ``status``: answer ``status`` with an S3 XML error body (``code``) without asking the server;
- ``cut``: forward the request, send the response head and ``after_bytes`` of its body, then
  (after ``seconds``, if given: a stalled transfer) close;
- ``hold``: forward the request (the server acts on it), then wait ``seconds`` before answering;
- ``lose``: forward the request (the server acts on it), then close without answering — the
  client cannot tell whether its write happened.

Faults are matched in order (method, path regex) and scheduled by counting the requests they
match: the ``first`` N, or ``every`` k-th, or ``nth`` exactly. Every request and the action
taken are recorded so tests can check that faults really happened.

The proxy is bounded: it serves at most ``max_connections`` at once, every socket has a
timeout, and it shuts itself down after ``lifetime`` seconds even if a test forgets to.
SigV4 signs the ``Host`` header, which the proxy forwards unchanged, so signed requests stay
valid.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["Fault", "FaultProxy", "Record"]

_ACTIONS = ("pass", "drop", "reset", "stall", "status", "cut", "lose", "hold", "corrupt")
_IO_TIMEOUT = 30.0


@dataclass
class Fault:
    """One scheduled fault.

    Parameters
    ----------
    action
        One of ``pass``, ``drop``, ``reset``, ``stall``, ``status``, ``cut``, ``lose``, ``hold``,
        ``corrupt`` (flip one byte in the middle of the request body, as a faulty network card
        or middlebox might, and forward it).
    method
        Only requests with this HTTP method (``GET``, ``PUT``, ``HEAD``...); any if ``None``.
    path
        Only requests whose path (with query) matches this regular expression.
    first
        Apply to the first ``first`` matching requests only.
    every
        Apply to every ``every``-th matching request (1-based: the k-th, 2k-th...).
    nth
        Apply to exactly the ``nth`` matching request (1-based).
    status, code
        For ``status``: the HTTP status and the S3 error code in the XML body.
    seconds
        For ``stall`` and ``hold``: how long to wait; for ``cut``: how long to stall before
        closing.
    after_bytes
        For ``cut``: response body bytes forwarded before the connection is closed.
    """

    action: str
    method: str | None = None
    path: str | None = None
    first: int | None = None
    every: int | None = None
    nth: int | None = None
    status: int = 503
    code: str = "ServiceUnavailable"
    seconds: float = 0.0
    after_bytes: int = 0
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            msg = f"unknown fault action {self.action!r}"
            raise ValueError(msg)

    def matches(self, method: str, target: str) -> bool:
        if self.method is not None and method != self.method:
            return False
        return self.path is None or re.search(self.path, target) is not None

    def due(self) -> bool:
        """Count one matching request; True if the fault applies to it."""
        self.seen += 1
        n = self.seen
        if self.first is not None:
            return n <= self.first
        if self.every is not None:
            return n % self.every == 0
        if self.nth is not None:
            return n == self.nth
        return True


@dataclass(frozen=True)
class Record:
    """One request seen by the proxy and what was done to it."""

    method: str
    target: str
    action: str


class _Closed(Exception):
    """The peer closed the connection between requests."""


def _read_head(f: BinaryIO) -> bytes:
    lines = []
    total = 0
    while True:
        line = f.readline(65536)
        if not line:
            if lines:
                msg = "connection closed inside a message head"
                raise ConnectionError(msg)
            raise _Closed
        total += len(line)
        if total > 1 << 20:
            msg = "message head too large"
            raise ConnectionError(msg)
        if line in (b"\r\n", b"\n") and not lines:
            continue  # tolerate stray CRLF between messages
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    text = head.decode("latin-1")
    first, *rest = text.split("\r\n")
    hdrs: dict[str, str] = {}
    for line in rest:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return first, hdrs


def _body_chunks(f: BinaryIO, hdrs: dict[str, str], *, until_close: bool):
    """Yield the raw bytes of a message body (as they appear on the wire)."""
    if "chunked" in hdrs.get("transfer-encoding", "").lower():
        while True:
            size_line = f.readline(65536)
            if not size_line:
                msg = "connection closed inside a chunked body"
                raise ConnectionError(msg)
            yield size_line
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = f.readline(65536)
                    if not trailer:
                        return
                    yield trailer
                    if trailer in (b"\r\n", b"\n"):
                        return
            left = size + 2  # data and its CRLF
            while left:
                buf = f.read(min(left, 1 << 16))
                if not buf:
                    msg = "connection closed inside a chunk"
                    raise ConnectionError(msg)
                left -= len(buf)
                yield buf
        return
    if "content-length" in hdrs:
        left = int(hdrs["content-length"])
        while left:
            buf = f.read(min(left, 1 << 16))
            if not buf:
                msg = "connection closed inside a body"
                raise ConnectionError(msg)
            left -= len(buf)
            yield buf
        return
    if until_close:
        while buf := f.read(1 << 16):
            yield buf


def _error_body(code: str, target: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>injected fault</Message>"
        f"<Resource>{target.split('?')[0]}</Resource><RequestId>fault</RequestId></Error>"
    ).encode()


class FaultProxy:
    """A bounded, self-stopping fault-injecting proxy in front of ``upstream``.

    Parameters
    ----------
    upstream
        ``http://127.0.0.1:PORT`` of the real server.
    lifetime
        Seconds after which the proxy stops by itself.
    max_connections
        Client connections served at once; further ones wait in the listen backlog.

    Examples
    --------
    >>> with FaultProxy(server.endpoint_url) as proxy:  # doctest: +SKIP
    ...     proxy.add(Fault("status", method="GET", first=2))
    ...     store = open_store("s3://b", endpoint_url=proxy.url)
    """

    def __init__(self, upstream: str, *, lifetime: float = 300.0, max_connections: int = 128):
        m = re.match(r"^http://([^:/]+):(\d+)/?$", upstream)
        if not m:
            msg = f"upstream must be http://host:port, not {upstream!r}"
            raise ValueError(msg)
        self.upstream = (m.group(1), int(m.group(2)))
        self.lifetime = lifetime
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.records: list[Record] = []
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._started = time.monotonic()
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- schedule ---------------------------------------------------------------------------

    def add(self, *faults: Fault) -> FaultProxy:
        with self._lock:
            self._faults.extend(faults)
        return self

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def wait_for(self, action: str, *, timeout: float = 60.0) -> Record:
        """Block until a request got ``action``; returns its record.

        Raises
        ------
        TimeoutError
            If no such request arrived in time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = self.injected(action)
            if hits:
                return hits[0]
            time.sleep(0.02)
        msg = f"no request got {action!r} within {timeout} s"
        raise TimeoutError(msg)

    def injected(self, action: str | None = None) -> list[Record]:
        """Requests that got a fault (or one kind of fault)."""
        with self._lock:
            return [r for r in self.records if r.action != "pass" and action in (None, r.action)]

    def _decide(self, method: str, target: str) -> Fault | None:
        with self._lock:
            chosen = None
            for fault in self._faults:
                if fault.matches(method, target) and fault.due() and chosen is None:
                    chosen = fault
            if chosen is not None:
                chosen.fired += 1
            self.records.append(Record(method, target, chosen.action if chosen else "pass"))
            return chosen

    # -- serving ----------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                if time.monotonic() - self._started > self.lifetime:
                    break
                try:
                    client, _ = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not self._slots.acquire(timeout=_IO_TIMEOUT):
                    client.close()
                    continue
                client.settimeout(_IO_TIMEOUT)
                with self._lock:
                    self._conns.add(client)
                threading.Thread(target=self._handle, args=(client,), daemon=True).start()
        finally:
            self._shutdown_sockets()

    def _handle(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        cf: BinaryIO | None = None
        uf: BinaryIO | None = None
        try:
            cf = client.makefile("rb")
            while not self._stop.is_set():
                try:
                    head = _read_head(cf)
                except _Closed:
                    return
                request_line, hdrs = _headers(head)
                method, target, _ = request_line.split(" ", 2)
                if hdrs.get("expect", "").lower() == "100-continue":
                    # Answer the interim response ourselves; 'expect' is never signed.
                    client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    head = re.sub(rb"(?im)^expect:[^\r\n]*\r\n", b"", head)
                body = b"".join(_body_chunks(cf, hdrs, until_close=False))
                fault = self._decide(method, target)
                action = fault.action if fault else "pass"
                if action == "drop":
                    return
                if action == "reset":
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if action == "status":
                    assert fault is not None
                    payload = b"" if method == "HEAD" else _error_body(fault.code, target)
                    client.sendall(
                        f"HTTP/1.1 {fault.status} Injected\r\nContent-Type: application/xml\r\n"
                        f"Content-Length: {len(_error_body(fault.code, target))}\r\n"
                        f"x-amz-request-id: fault\r\n\r\n".encode()
                        + payload
                    )
                    continue
                if action == "stall":
                    assert fault is not None
                    if self._stop.wait(fault.seconds):
                        return
                if action == "corrupt" and body:
                    i = len(body) // 2
                    body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
                for _ in range(2):
                    if upstream is None:
                        upstream = socket.create_connection(self.upstream, timeout=_IO_TIMEOUT)
                        uf = upstream.makefile("rb")
                    upstream.sendall(head + body)
                    try:
                        rhead = _read_head(uf)
                        break
                    except _Closed:
                        # The server closed an idle kept-alive connection just as the request
                        # went out: not a fault of ours to inject; send it again on a new one.
                        uf.close()
                        upstream.close()
                        upstream = None
                else:
                    return
                if action == "lose":
                    return
                if action == "hold":
                    assert fault is not None
                    if self._stop.wait(fault.seconds):
                        return
                status_line, rhdrs = _headers(rhead)
                status = int(status_line.split(" ", 2)[1])
                no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                if action == "cut":
                    assert fault is not None
                    client.sendall(rhead)
                    sent = 0
                    if not no_body:
                        for piece in _body_chunks(uf, rhdrs, until_close=True):
                            take = piece[: max(0, fault.after_bytes - sent)]
                            if take:
                                client.sendall(take)
                                sent += len(take)
                            if sent >= fault.after_bytes:
                                break
                    self._stop.wait(fault.seconds)
                    return  # closes both connections: the rest of the body never comes
                client.sendall(rhead)
                if not no_body:
                    for piece in _body_chunks(uf, rhdrs, until_close=True):
                        client.sendall(piece)
                closing = "close" in rhdrs.get("connection", "").lower() or (
                    not no_body
                    and "content-length" not in rhdrs
                    and "chunked" not in rhdrs.get("transfer-encoding", "").lower()
                )
                if closing or "close" in hdrs.get("connection", "").lower():
                    return
        except (OSError, ValueError, ConnectionError, _Closed):
            return
        finally:
            for f in (cf, uf):
                if f is not None:
                    with contextlib.suppress(OSError):
                        f.close()
            with contextlib.suppress(OSError):
                client.close()
            if upstream is not None:
                with contextlib.suppress(OSError):
                    upstream.close()
            with self._lock:
                self._conns.discard(client)
            self._slots.release()

    def _shutdown_sockets(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Stop accepting, close every connection, and wait for the accept loop."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._shutdown_sockets()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
