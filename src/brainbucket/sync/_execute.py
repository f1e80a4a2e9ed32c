"""Run actions: asyncio with bounded concurrency (or serially), progress to callbacks.

Uploads go through the store's async data path, many in flight at once; large ones as
resumable multipart uploads. Each download goes the way the store's download router says
(``brainbucket.store._route``): many small files on one thread, the rest on download threads,
or awaited (streamed, or resumable by range). Remote deletes are batched. Each action is
idempotent, so a re-run after an interruption simply does what is left.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import (
    BrainbucketError,
    PartialFailureError,
)
from .._hashing import CHUNK
from .._progress import Callbacks
from .._types import PutResult
from ..store import PART_SIZE, RESUME_THRESHOLD, Abort, Cancelled, Route, Store
from ._actions import Action, Delete, DeleteLocal, Download, Upload
from ._multipart import upload_multipart
from ._settle import FATAL, Batch, Settled, Tally, local_error

__all__ = ["Callbacks", "ExecuteResult", "execute"]

MULTIPART_THRESHOLD = RESUME_THRESHOLD
# Whole small files are read into memory to upload; this bounds the bytes held at once.
UPLOAD_BUDGET = 256 * 1024 * 1024
LARGE_IN_FLIGHT = 4
IO_THREADS = 8
# Downloads below the resume threshold run start to finish on these threads (S3 direct path):
# one hand-over per file instead of several, which is most of a small file's cost. Measured on
# 5,000 small files: 32 threads beat 8 by ~15% in time and in the server's CPU (its queue
# never runs dry), at 256 KiB of buffer each.
DOWNLOAD_THREADS = 32
# When small files take the one-thread path below, the threads carry only larger files, whose
# cost is copying bytes: 8 measured ~4 % less client CPU than 32 on the 1.34 GB study (fewer
# buffers competing for the CPU's cache).
LARGE_DOWNLOAD_THREADS = 8
# The one-thread path for small files keeps this many connections busy (measured faster
# than 16 and 32).
LANE_CONNECTIONS = 64


@dataclass
class ExecuteResult:
    """What an execution did.

    Attributes
    ----------
    done
        ``(action, result)`` of each success: a :class:`~brainbucket.PutResult` for uploads,
        the ``sha256:`` digest for downloads, ``None`` for deletes.
    failed
        ``(action, error)`` of each failure.
    bytes
        Bytes transferred.
    elapsed
        Seconds.
    """

    done: list[tuple[Action, PutResult | str | None]] = field(default_factory=list)
    failed: list[tuple[Action, BrainbucketError]] = field(default_factory=list)
    bytes: int = 0
    elapsed: float = 0.0

    def __repr__(self) -> str:
        # Short on purpose: asyncio formats the finished task's result when the run ends
        # (``signal.getsignal`` of its Ctrl-C handler), and a full repr of 100,000 actions
        # cost seconds there.
        return (
            f"ExecuteResult(done={len(self.done)}, failed={len(self.failed)}, "
            f"bytes={self.bytes}, elapsed={self.elapsed:.3f})"
        )

    def raise_for_failures(self) -> None:
        """Raise :class:`PartialFailureError` listing the failures, if any."""
        if self.failed:
            first = self.failed[0]
            msg = f"{len(self.failed)} of {len(self.failed) + len(self.done)} actions failed; first: {first[1]}"
            raise PartialFailureError(
                msg,
                failures=[(a.path, str(e)) for a, e in self.failed],
                hint="the rest succeeded; fix the cause and re-run: only what failed will move",
            )


@dataclass
class _Options:
    state_dir: Path
    multipart_threshold: int
    part_size: int
    upload_budget: int
    durable: bool


class _Budget:
    """Bytes held in memory by uploads in flight (one oversized item may always proceed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        import asyncio

        self.cond = asyncio.Condition()

    async def acquire(self, n: int) -> None:
        async with self.cond:
            await self.cond.wait_for(lambda: self.used == 0 or self.used + n <= self.limit)
            self.used += n

    async def release(self, n: int) -> None:
        async with self.cond:
            self.used -= n
            self.cond.notify_all()


def execute(
    actions: Iterable[Action],
    store: Store,
    *,
    jobs: int | None = None,
    serial: bool = False,
    callbacks: Callbacks[Action] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    durable: bool | None = None,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> ExecuteResult:
    """Run ``actions`` against ``store``; failures are collected, not raised.

    Parameters
    ----------
    actions
        :class:`Upload`, :class:`Download`, :class:`Delete` and :class:`DeleteLocal` actions.
    store
        The store the remote paths are relative to.
    jobs
        Transfers in flight at once (default ``BRAINBUCKET_JOBS``, 64).
    serial
        One action at a time, in the given order (deterministic; for tests and debugging).
    callbacks
        Progress subscriber (:class:`~brainbucket.Callbacks`), told about each action;
        called from the thread that runs :func:`execute`.
    state_dir
        Where resumable-transfer state lives (default: the configuration's ``state_dir``).
    durable
        ``fsync`` each downloaded file before it is renamed into place, so it survives a
        power cut (default ``BRAINBUCKET_FSYNC``, off).
    multipart_threshold, part_size
        Uploads of at least ``multipart_threshold`` bytes go in resumable parts of
        ``part_size``; downloads that large resume by byte range.

    Returns
    -------
    ExecuteResult
        Call :meth:`ExecuteResult.raise_for_failures` to turn failures into an error.

    Raises
    ------
    BucketNotFoundError, CredentialsError, EndpointError
        At once, when an error means no other action can succeed either.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> _ = store.write_bytes("sub-01/a.txt", b"hello")
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> result = execute([Download("sub-01/a.txt", dest, 5)], store, serial=True)
    >>> dest.read_bytes(), len(result.failed)
    (b'hello', 0)
    """
    if state_dir is None or durable is None or not (jobs or serial):
        # Called on its own (not by sync, which passes its values): the environment's
        # settings, read once.
        config = Config()
        state_dir = config.state_dir if state_dir is None else state_dir
        durable = config.fsync if durable is None else durable
        jobs = jobs or config.jobs
    opts = _Options(
        state_dir=Path(state_dir),
        multipart_threshold=multipart_threshold,
        part_size=part_size,
        upload_budget=UPLOAD_BUDGET,
        durable=durable,
    )
    todo = list(actions)
    if not todo:
        return ExecuteResult()  # nothing to run: no event loop, no threads
    # Imported here: a command that moves nothing (a no-op sync) never pays for loading it.
    import asyncio

    n = 1 if serial else max(1, jobs or 1)
    coro = _run(todo, store, n, callbacks or Callbacks(), opts)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside an event loop (a notebook): run ours on a thread of its own.
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["r"] = asyncio.run(coro)
        except BaseException as exc:
            box["e"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["r"]  # type: ignore[no-any-return]


async def _run(
    actions: list[Action], store: Store, jobs: int, cb: Callbacks[Action], opts: _Options
) -> ExecuteResult:
    import asyncio

    t0 = time.perf_counter()
    result = ExecuteResult()
    loop = asyncio.get_running_loop()
    # File work (create, write, rename) of the async paths runs on these threads, off the
    # event loop.
    pool = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="brainbucket-io")
    loop.set_default_executor(pool)
    for a in actions:
        cb.on_queued(a)
    deletes = [a for a in actions if isinstance(a, Delete)]
    # Each download goes the way the store's router says: small files on one thread that
    # keeps many connections busy, others on download threads of their own, the rest
    # (streamed, or resumable by range) awaited below with the uploads.
    lane: list[Download] = []
    direct: list[Download] = []
    for a in actions:
        if isinstance(a, Download):
            route = store.route(a.expected, resume_threshold=opts.multipart_threshold, bulk=True)
            if route is Route.SMALL:
                lane.append(a)
            elif route is Route.THREAD:
                direct.append(a)
    taken = {id(a) for a in lane} | {id(a) for a in direct}
    pending = [a for a in actions if not isinstance(a, Delete) and id(a) not in taken]
    if jobs > 1:
        # Largest first (stable, so the plan's order among equals): a run then ends on small
        # files, all cores busy to the last, instead of on one large transfer alone. Measured
        # on the 1.34 GB study upload: the last half second ran at half the machine.
        pending.sort(key=lambda a: getattr(a, "size", 0), reverse=True)
    work = iter(pending)
    budget = _Budget(opts.upload_budget)
    large = asyncio.Semaphore(LARGE_IN_FLIGHT)
    fatal: list[BrainbucketError] = []
    stop = threading.Event()

    def progress_for(a: Action, threaded: bool = False) -> Any:
        def on_bytes(nbytes: int) -> None:
            result.bytes += nbytes
            cb.on_progress(a, nbytes)

        if threaded:
            return lambda nbytes: loop.call_soon_threadsafe(on_bytes, nbytes)
        return on_bytes

    async def one(a: Action) -> PutResult | str | None:
        if isinstance(a, Upload):
            if store.capabilities.multipart and a.size >= opts.multipart_threshold:
                async with large:
                    try:
                        return await asyncio.to_thread(
                            upload_multipart,
                            store,
                            a.src,
                            a.path,
                            state_dir=opts.state_dir,
                            part_size=opts.part_size,
                            progress=progress_for(a, True),
                            stop=stop,
                        )
                    except asyncio.CancelledError:
                        stop.set()  # let the thread end after its parts in flight
                        raise
            await budget.acquire(a.size)
            try:
                return await _upload_small(store, a, progress_for(a))
            finally:
                await budget.release(a.size)
        if isinstance(a, Download):
            if a.size >= opts.multipart_threshold:
                async with large:
                    return await _download(store, a, progress_for(a), opts)
            return await _download(store, a, progress_for(a), opts)
        if isinstance(a, DeleteLocal):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(a.dest)
            return None
        msg = f"unknown action {a!r}"
        raise TypeError(msg)

    async def worker() -> None:
        for a in work:
            if fatal:
                return
            try:
                r = await one(a)
            except BrainbucketError as exc:
                if isinstance(exc, FATAL):
                    fatal.append(exc)
                    return
                result.failed.append((a, exc))
                cb.on_done(a, exc)
            except OSError as exc:
                err = local_error(a, exc)
                result.failed.append((a, err))
                cb.on_done(a, err)
            else:
                result.done.append((a, r))
                cb.on_done(a, None)

    def settle(batch: list[Settled]) -> None:
        for a, digest, exc, nbytes in batch:
            if nbytes:  # small files report their bytes here, large ones as they came
                progress_for(a)(nbytes)
            if exc is None:
                result.done.append((a, digest))
                cb.on_done(a, None)
            elif isinstance(exc, FATAL):
                fatal.append(exc)
                stop.set()
            else:
                result.failed.append((a, exc))
                cb.on_done(a, exc)

    queue = iter(direct)
    queue_lock = threading.Lock()
    aborts: list[Abort] = []

    def download_worker() -> None:
        # Runs on its own thread: every file start to finish, results back in batches.
        abort = Abort()
        aborts.append(abort)
        batch = Batch(loop, settle, stop)
        try:
            while not stop.is_set():
                with queue_lock:
                    a = next(queue, None)
                if a is None:
                    break
                # A small file's bytes are counted here and reported with its result.
                tally = Tally() if a.size <= CHUNK else None
                progress = tally if tally is not None else progress_for(a, True)
                digest, err = None, None
                try:
                    digest = store.download(
                        a.path,
                        a.dest,
                        a.expected,
                        keep_mtime=True,
                        progress=progress,
                        abort=abort,
                        durable=opts.durable,
                    )
                except Cancelled:
                    break
                except (BrainbucketError, OSError) as exc:
                    err = exc
                batch.add(a, digest, err, tally.n if tally is not None else 0)
        finally:
            batch.flush()

    def lane_worker() -> None:
        # One thread for every small file (see brainbucket.store._http).
        batch = Batch(loop, settle, stop)

        def done(a: Download, digest: str | None, nbytes: int, exc: BaseException | None) -> None:
            batch.add(a, digest, exc, nbytes)

        try:
            store.download_many(
                ((a.path, a.dest, a.expected, a) for a in lane),
                done,
                stop,
                connections=min(jobs, LANE_CONNECTIONS),
                durable=opts.durable,
            )
        finally:
            batch.flush()

    threads = min(jobs, LARGE_DOWNLOAD_THREADS if lane else DOWNLOAD_THREADS, len(direct))
    dl_pool = ThreadPoolExecutor(
        max_workers=max(1, threads) + bool(lane), thread_name_prefix="brainbucket-dl"
    )
    awaited: list[asyncio.Future[None]] = []
    try:
        # The awaited transfers (largest first) take their first step before the download
        # threads start — for a large download, its first request. Otherwise the threads' many
        # small files go first, and a run can end on one large file alone.
        awaited = [asyncio.ensure_future(worker()) for _ in range(jobs)]
        await asyncio.sleep(0)
        await asyncio.gather(
            *awaited,
            *(loop.run_in_executor(dl_pool, download_worker) for _ in range(threads)),
            *([loop.run_in_executor(dl_pool, lane_worker)] if lane else []),
        )
    except BaseException:
        for task in awaited:
            task.cancel()
        stop.set()  # no new files; files in flight end at once, leaving nothing behind
        for abort in aborts:
            abort.cancel()
        raise
    finally:
        dl_pool.shutdown(wait=False)
    if deletes and not fatal:
        await _delete_remote(store, deletes, result, cb)
    if fatal:
        raise fatal[0]
    result.elapsed = time.perf_counter() - t0
    return result


async def _download(store: Store, a: Download, progress: Any, opts: _Options) -> str:
    # The object's time is kept, as aws-cli and rclone do. Besides being what users expect,
    # a time in the past lets the hash cache trust the verified digest at once: a file
    # modified "just now" could change again within the same mtime tick, so such entries are
    # not trusted, and the next sync would re-read every file it just downloaded.
    return await store.adownload(
        a.path,
        a.dest,
        a.expected,
        keep_mtime=True,
        progress=progress,
        state_dir=opts.state_dir,
        resume_threshold=opts.multipart_threshold,
        durable=opts.durable,
    )


async def _upload_small(store: Store, a: Upload, progress: Any) -> PutResult:
    return await store.aupload(a.src, a.path, progress=progress)


async def _delete_remote(
    store: Store, deletes: list[Delete], result: ExecuteResult, cb: Callbacks[Action]
) -> None:
    import asyncio

    failed = dict(await asyncio.to_thread(store.delete_many, [d.path for d in deletes]))
    for d in deletes:
        if d.path in failed:
            err = BrainbucketError(f"{store.describe(d.path)}: delete failed: {failed[d.path]}")
            result.failed.append((d, err))
            cb.on_done(d, err)
        else:
            result.done.append((d, None))
            cb.on_done(d, None)
