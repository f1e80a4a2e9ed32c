"""Riding through a server that goes away in the middle of a command (a restart, say).

The clients' own retries (obstore, boto3, the store's HTTP readers) last a few seconds. A
server restart takes longer, and a sync of hours should not fail because of it. So once the
command has reached the server (see :mod:`._reach`: the *first* connection still fails fast),
an operation whose connection was refused or reset after those retries asks
:class:`Ride` whether to try again. The first to ask tells the user once (through the
settings' ``on_wait``) and every thread then waits, without sending requests, until the
endpoint accepts a TCP connection again — or until the retry window since the outage began
has passed, when the operation's own clear error goes up as before.

While an outage's window lasts, a server error (5xx) is ridden too: a server that has just
started may answer "service unavailable" for a moment before it serves again. Outside an
outage a 5xx is not: the clients' retries have judged it already.

Operations are tried again whole, and each is safe to repeat: a download writes to a
temporary file that is verified before its rename (the store's HTTP reader even continues
where it stopped), an upload's parts are idempotent, and a conditional write whose answer
was lost recognises its own bytes.
"""

from __future__ import annotations

import functools
import inspect
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from .._exceptions import BrainbucketError, EndpointError, ServerError
from ._errors import redact_url

__all__ = ["Ride", "rides"]

F = TypeVar("F", bound=Callable[..., Any])

_PROBE_TIMEOUT = 2.0
_MAX_PAUSE = 2.0  # between two probes of an endpoint that does not answer


def _kind(exc: BaseException) -> str | None:
    """``"lost"``: no connection, or it broke before an answer; ``"server"``: a 5xx that
    outlasted the retries; ``None``: not a failure to ride out."""
    if isinstance(exc, EndpointError):
        return "lost"
    if isinstance(exc, ServerError):
        return "lost" if exc.connection_lost else "server"
    return None


class Ride:
    """Waits, once for every thread of a command, for an endpoint to come back.

    Parameters
    ----------
    endpoint
        The endpoint URL (shown without secrets).
    window
        Seconds an outage is ridden through, from its first failure; ``0``: never.
    reached
        Whether the command has reached the server yet: before that, nothing is ridden.
    notify
        Told once per outage, in words for a person, that the command is waiting.

    Examples
    --------
    >>> ride = Ride("http://127.0.0.1:9", 0, lambda: True)
    >>> ride.wait_out(EndpointError("gone"))
    False
    """

    def __init__(
        self,
        endpoint: str,
        window: float,
        reached: Callable[[], bool],
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.window = window
        self._reached = reached
        self._notify = notify
        self._lock = threading.Lock()
        self._since: float | None = None  # when the current (or last) outage began
        self._back: float | None = None  # when the endpoint last answered since then
        self._told = False
        parts = urllib.parse.urlsplit(endpoint)
        self._host = parts.hostname or ""
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            self._port = 0

    # -- which outage -----------------------------------------------------------------------

    def _deadline(self, exc: BaseException) -> float | None:
        """The end of the window ``exc`` falls in, or ``None`` when it is not ridden."""
        kind = _kind(exc)
        if kind is None or self.window <= 0 or not self._host or not self._reached():
            return None
        with self._lock:
            now = time.monotonic()
            if self._since is not None and now < self._since + self.window:
                return self._since + self.window  # the same outage
            if kind != "lost":
                return None
            if (
                self._since is not None
                and self._back is None
                and now < self._since + 2 * self.window
            ):
                # The outage that just outlasted its window (other threads' failures
                # arriving late): they fail at once too, as the first did.
                return None
            self._since, self._back, self._told = now, None, False
            return now + self.window

    def _answered(self) -> None:
        with self._lock:
            self._back = time.monotonic()

    def _tell(self, reason: str) -> None:
        with self._lock:
            if self._told:
                return
            self._told = True
        if self._notify is not None:
            self._notify(
                f"waiting for {redact_url(self.endpoint).rstrip('/')} ({reason}), "
                f"retrying for up to {self.window:g} s"
            )

    # -- waiting ----------------------------------------------------------------------------

    def _probe(self, timeout: float) -> str | None:
        """``None`` if the endpoint accepts a connection, else why not."""
        try:
            socket.create_connection((self._host, self._port), timeout=timeout).close()
        except ConnectionRefusedError:
            return "connection refused"
        except socket.gaierror:
            return "no such host"
        except TimeoutError:
            return "no answer"
        except OSError as exc:
            return exc.strerror or str(exc)
        return None

    def wait_out(self, exc: BaseException, cancelled: Callable[[], bool] | None = None) -> bool:
        """Wait for the endpoint after ``exc``; ``True``: try the operation again.

        ``cancelled`` is asked between probes: a command stopped meanwhile (Ctrl-C) does not
        wait out the window.
        """
        deadline = self._deadline(exc)
        if deadline is None:
            return False
        pause = 0.1
        while (left := deadline - time.monotonic()) > 0:
            if cancelled is not None and cancelled():
                return False
            reason = self._probe(min(_PROBE_TIMEOUT, left))
            if reason is None:
                self._answered()
                return True
            self._tell(reason)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, _MAX_PAUSE)
        return False

    async def await_out(self, exc: BaseException) -> bool:
        """:meth:`wait_out` for the event loop: no thread is held while waiting."""
        import asyncio

        deadline = self._deadline(exc)
        if deadline is None:
            return False
        pause = 0.1
        while (left := deadline - time.monotonic()) > 0:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(self._host, self._port), min(_PROBE_TIMEOUT, left)
                )
            except (OSError, asyncio.TimeoutError) as err:
                self._tell(
                    "connection refused"
                    if isinstance(err, ConnectionRefusedError)
                    else "no answer"
                    if isinstance(err, asyncio.TimeoutError | TimeoutError)
                    else (getattr(err, "strerror", None) or str(err))
                )
                await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, _MAX_PAUSE)
                continue
            writer.close()
            self._answered()
            return True
        return False


def rides(fn: F) -> F:
    """Let a store verb ride through an outage: tried again whole while :class:`Ride` says so.

    The verb's object has a ``session`` whose ``ride`` decides; a coroutine waits on the
    event loop, anything else on its own thread.
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awaited(self: Any, *args: Any, **kwargs: Any) -> Any:
            while True:
                try:
                    return await fn(self, *args, **kwargs)
                except BrainbucketError as exc:
                    if not await self.session.ride.await_out(exc):
                        raise

        return awaited  # type: ignore[return-value]

    @functools.wraps(fn)
    def called(self: Any, *args: Any, **kwargs: Any) -> Any:
        while True:
            try:
                return fn(self, *args, **kwargs)
            except BrainbucketError as exc:
                if not self.session.ride.wait_out(exc):
                    raise

    return called  # type: ignore[return-value]
