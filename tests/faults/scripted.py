"""A scripted HTTP/1.1 server, for answers a real S3 server never gives."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable

Script = Callable[[int, dict[str, str]], bytes | None]


class ScriptedServer:
    """Answers each GET with what ``script(n, headers)`` returns (raw bytes); ``None`` closes.

    Records the request headers it saw, in order. A connection is kept open between requests
    unless the script's answer is ``None``, says ``Connection: close``, or ``close_after`` is
    set; ``reset`` then ends it with a reset instead of an orderly close.
    """

    def __init__(self, script: Script, *, close_after: bool = False, reset: bool = False) -> None:
        self.script = script
        self.close_after = close_after
        self.reset = reset  # close with a reset (RST) rather than an orderly end (FIN)
        self.seen: list[dict[str, str]] = []
        self.connections = 0
        # What the script raised on a request it was not written for (a test asserts on its
        # own requests; a stray one must not fail a later test from this server's thread).
        self.errors: list[BaseException] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._answer(conn)
        except OSError:
            pass  # the client hung up first: its side of the story is what is tested
        except Exception as exc:  # the script met a request it was not written for
            self.errors.append(exc)
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        f = conn.makefile("rb")
        with conn, f:
            while True:
                line = f.readline()
                if not line:
                    return
                if not line.rstrip().endswith((b"HTTP/1.1", b"HTTP/1.0")):
                    # Not one of the tested client's requests: a stray connection from another
                    # program to this (reused) port, such as a gRPC client's HTTP/2 preface.
                    return
                headers = {":path": line.split()[1].decode()}
                while (h := f.readline()) not in (b"\r\n", b""):
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                if self._stop:
                    return  # the test is over
                self.seen.append(headers)
                answer = self.script(len(self.seen), headers)
                if answer is None:
                    if self.reset:
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    return
                conn.sendall(answer)
                if self.close_after or b"Connection: close" in answer.split(b"\r\n\r\n")[0]:
                    if self.reset:
                        # Once the answer is through (and the client's next request has likely
                        # gone out on this connection): a reset rather than an orderly end.
                        time.sleep(0.05)
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    return

    def close(self) -> None:
        self._stop = True
        self._sock.close()
