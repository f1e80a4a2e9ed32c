"""How download threads hand their results back to the event loop that runs a sync.

A call into the loop per file would cost more than a small file: a thread's finished files go
back in batches (:class:`Batch`), their errors sorted on the way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    BucketNotFoundError,
    CredentialsError,
    EndpointError,
    ObjectNotFoundError,
    OfflineError,
)
from ._actions import Action, Download

if TYPE_CHECKING:
    import asyncio

__all__ = ["FATAL", "Batch", "Settled", "Tally", "local_error"]

# Errors that would fail every other action the same way: stop at once.
FATAL = (BucketNotFoundError, CredentialsError, EndpointError, OfflineError)
# A download thread hands finished files back to the event loop this often.
_SETTLE_EVERY = 0.05


class Tally:
    """Counts the bytes of one small download on its thread."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, nbytes: int) -> None:
        self.n += nbytes


# A download thread's report of one file: action, digest, error, bytes not yet reported.
Settled = tuple[Download, str | None, BrainbucketError | None, int]


class Batch:
    """A download thread's finished files, handed to the event loop every ``_SETTLE_EVERY``.

    A call into the loop per file would cost more than a small file. Errors are sorted here:
    a brainbucket error fails its file (a fatal one stops every thread), a local ``OSError``
    becomes one, anything else is a bug and propagates.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settle: Callable[[list[Settled]], None],
        stop: threading.Event,
    ) -> None:
        self._loop, self._settle, self._stop = loop, settle, stop
        self._items: list[Settled] = []
        self._due = time.monotonic() + _SETTLE_EVERY

    def add(self, a: Download, digest: str | None, exc: BaseException | None, nbytes: int) -> None:
        err: BrainbucketError | None = None
        if isinstance(exc, BrainbucketError):
            err = exc
            if isinstance(exc, FATAL):
                self._stop.set()
        elif isinstance(exc, OSError):
            err = local_error(a, exc)
        elif exc is not None:
            raise exc
        self._items.append((a, digest, err, nbytes))
        if time.monotonic() >= self._due:
            self.flush()

    def flush(self) -> None:
        if self._items:
            self._loop.call_soon_threadsafe(self._settle, self._items)
        self._items, self._due = [], time.monotonic() + _SETTLE_EVERY


def local_error(a: Action, exc: OSError) -> BrainbucketError:
    """A local file's failure (permission, vanished...) as the error of its action."""
    where = getattr(a, "src", None) or getattr(a, "dest", None) or a.path
    if isinstance(exc, PermissionError):
        return AccessDeniedError(f"{where}: permission denied", hint="check the file's permissions")
    if isinstance(exc, FileNotFoundError):
        return ObjectNotFoundError(f"{where}: vanished while syncing", hint="re-run the sync")
    return BrainbucketError(f"{where}: {exc.strerror or exc}")
