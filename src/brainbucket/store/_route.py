"""The download router: which path one download takes, decided here and nowhere else.

Decision table (first match wins):

| # | the download                                                         | route    |
|---|----------------------------------------------------------------------|----------|
| 1 | the store keeps partial downloads across runs, the caller has a state folder, the object is at least the resume threshold and identifiable (a sha256 or an ETag to pin it to) | ``RESUME`` |
| 2 | the store has no HTTP reader of its own: a local folder, unsigned reads of public data, an endpoint reached through an HTTP proxy | ``STREAM`` |
| 3 | one of many, at most :data:`SMALL_LIMIT`, over plain HTTP              | ``SMALL``  |
| 4 | anything else                                                        | ``THREAD`` |

- ``RESUME``: ranged reads into ``.NAME.resume.bbpart`` beside the target, its expectations in
  the state folder; a later run continues by range while the object keeps its ETag.
- ``STREAM``: the store's streaming read (obstore's, or the local file), awaited.
- ``SMALL``: one thread keeps many kept-alive connections busy under a selector
  (:class:`~brainbucket.store._http.SmallGets`); anything unusual goes on to ``THREAD``'s
  reader.
- ``THREAD``: a plain GET of a presigned URL, read on a worker thread into a reused buffer
  (:class:`~brainbucket.store._http.DirectGet`), continued by range if it breaks off.

Why the order: rule 1 first so a large download survives the process; rule 2 because the
HTTP readers sign their own URLs (pinned to a version when one is asked for) and speak to
the endpoint directly; rule 3 because
below a megabyte a download is per-request work, which one thread does without handing
Python's lock back and forth (measured: 5,000 x 4 KiB files, see ``_http/_small``).
Every route verifies the same :class:`~brainbucket.Expected` before the file is renamed into
place.
"""

from __future__ import annotations

import enum

__all__ = ["RESUME_THRESHOLD", "SMALL_LIMIT", "Route", "choose"]

# Downloads at least this large are kept across runs (and uploads go up in parts).
RESUME_THRESHOLD = 64 * 1024 * 1024
# Downloads up to this size may take the one-thread path for small files.
SMALL_LIMIT = 1024 * 1024


class Route(enum.Enum):
    """The path one download takes (see the module's decision table)."""

    RESUME = "resume"
    STREAM = "stream"
    SMALL = "small"
    THREAD = "thread"


def choose(
    size: int | None,
    *,
    identified: bool,
    resumable: bool,
    http_reader: bool,
    plain_http: bool,
    bulk: bool,
    resume_threshold: int | None,
) -> Route:
    """The route of one download, by the decision table.

    Parameters
    ----------
    size
        The object's size, if known.
    identified
        A sha256 or an ETag pins the object a partial copy belongs to.
    resumable
        The store keeps partial downloads across runs and the caller has a state folder.
    http_reader
        The store reads with its own HTTP readers (signed requests, no proxy).
    plain_http
        The endpoint speaks plain HTTP (the one-thread path for small files needs it).
    bulk
        One of many downloads at once.
    resume_threshold
        Size from which downloads are kept across runs.

    Examples
    --------
    >>> facts = dict(identified=True, resumable=True, http_reader=True,
    ...              plain_http=True, bulk=True, resume_threshold=RESUME_THRESHOLD)
    >>> choose(4096, **facts), choose(10**6 * 8, **facts), choose(10**9, **facts)
    (<Route.SMALL: 'small'>, <Route.THREAD: 'thread'>, <Route.RESUME: 'resume'>)
    >>> choose(4096, **{**facts, "http_reader": False})
    <Route.STREAM: 'stream'>
    """
    if (
        resumable
        and identified
        and resume_threshold is not None
        and size is not None
        and size >= resume_threshold
    ):
        return Route.RESUME
    if not http_reader:
        return Route.STREAM
    if bulk and plain_http and size is not None and size <= SMALL_LIMIT:
        return Route.SMALL
    return Route.THREAD
