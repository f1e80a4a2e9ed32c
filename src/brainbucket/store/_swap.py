"""Moving a small object from one known state to the next, on any server: compare and swap.

The manifest pointer and the assembly catalog move only from the state a writer read. Where
the server honours conditional writes, that is one PUT with ``If-Match`` (``If-None-Match:
*`` for a first write): a writer that lost the race is refused (412) and fails with
:class:`~brainbucket.ConflictError`, exit 7, and its re-run merges.

Where the server accepts the condition and ignores it (``rclone serve s3``), the same PUT
would silently overwrite another writer's update. There the swap is checked instead:

1. read the object's ETag just before writing; if it is not the one the change was based on,
   fail as a refused write would;
2. write (with the condition too: harmless where ignored);
3. wait a short settle interval (:data:`SETTLE`), read the ETag again: if it is no longer the
   one this write made, someone else wrote meanwhile — fail the same way.

Two writers racing thus end with one winner (the last write) and one loud loser, whichever
way their requests interleave, unless one writer's check and write are further apart than
the other's whole settle interval. It catches a lost update; it cannot prevent a reader from
seeing the loser's state for that second. A writer that builds on ours within the settle
interval makes ours fail although it landed: the re-run then has nothing to do.

The check costs two HEADs and the settle interval, on such servers only: where conditional
writes are honoured, the swap is the one conditional PUT.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .._exceptions import ConflictError, ObjectNotFoundError
from .._types import PutResult
from ._base import Store

__all__ = ["SETTLE", "swap_bytes"]

# Seconds between a checked write and the read that confirms it: far longer than the gap
# between another writer's check and its write (one request).
SETTLE = 1.0


def _etag_now(store: Store, path: str) -> str | None:
    try:
        return store.info(path).etag
    except ObjectNotFoundError:
        return None


def swap_bytes(
    store: Store,
    path: str,
    data: bytes,
    *,
    expected: str | None,
    content_type: str | None = None,
    settle: float = SETTLE,
    sleep: Callable[[float], None] = time.sleep,
) -> PutResult:
    """Write ``data`` at ``path`` only if the object there still has the ETag ``expected``.

    Parameters
    ----------
    store
        Where the object lives.
    path
        The object.
    data
        Its new content.
    expected
        The ETag the change was based on; ``None``: only if there is no object yet.
    content_type
        The object's ``Content-Type``.
    settle, sleep
        How long a checked write waits before confirming it (servers that ignore
        conditional writes only), and how.

    Returns
    -------
    PutResult

    Raises
    ------
    ConflictError
        Someone else changed the object first (or, on a server that ignores conditional
        writes, meanwhile).

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> first = swap_bytes(store, "HEAD", b"one", expected=None)
    >>> _ = swap_bytes(store, "HEAD", b"two", expected=first.etag)
    >>> from brainbucket import ConflictError
    >>> try:
    ...     swap_bytes(store, "HEAD", b"three", expected=first.etag)
    ... except ConflictError:
    ...     print("refused: the object moved on since it was read")
    refused: the object moved on since it was read
    """
    conditions = {"if_none_match": True} if expected is None else {"if_match": expected}
    if store.capabilities.conditional_writes:
        return store.write_bytes(path, data, content_type=content_type, **conditions)  # type: ignore[arg-type]
    what = store.describe(path)
    if _etag_now(store, path) != expected:
        msg = f"{what}: changed by someone else meanwhile"
        raise ConflictError(msg)
    result = store.write_bytes(path, data, content_type=content_type, **conditions)  # type: ignore[arg-type]
    sleep(settle)
    now = _etag_now(store, path)
    if now != result.etag:
        msg = f"{what}: changed by someone else meanwhile (this server ignores conditional writes)"
        raise ConflictError(msg)
    return result
