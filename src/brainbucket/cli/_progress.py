"""The one progress bar of the commands that move files: it renders :class:`Callbacks`.

Every feature reports through :class:`~brainbucket.Callbacks`, whatever its items (sync
actions, HCP files, mirror keys, files being verified), so one bar serves ``sync``,
``hcp fetch``, ``get`` and ``verify`` alike.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._progress import Callbacks
from ._app import err_console, real_console

if TYPE_CHECKING:
    from types import TracebackType

    from .._exceptions import BrainbucketError

__all__ = ["ProgressBar"]


class ProgressBar(Callbacks[Any]):
    """One overall bar on stderr: bytes, files, rate and time left; gone when done.

    Use it as a context manager around the call it subscribes to. Nothing is drawn when
    stderr is not a terminal (a log file, a pipe).

    Parameters
    ----------
    description
        Shown before the bar (``sync``, ``fetching``).
    total_bytes, total_files
        What the whole run moves, if known now (else see :meth:`set_totals`).
    add_queued
        Add up the totals from the items queued instead (their ``size``): for features that
        announce their work item by item (``Mirror``, ``verify``).

    Examples
    --------
    >>> with ProgressBar("fetching", total_bytes=2048, total_files=1) as bar:
    ...     bar.on_progress("a.nii.gz", 2048)
    ...     bar.on_done("a.nii.gz", None)
    >>> bar.files
    1
    """

    def __init__(
        self,
        description: str,
        *,
        total_bytes: int | None = None,
        total_files: int = 0,
        add_queued: bool = False,
    ) -> None:
        # Imported here: a quiet run (scripts, cron) should not pay for the bar's machinery.
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=real_console(err_console),
            transient=True,
            disable=not err_console.is_terminal,
        )
        self.files = 0
        self.add_queued = add_queued
        self.queued_bytes = 0
        self.queued_files = 0
        # Some features report from several threads at once (the mirror's fetchers).
        self._lock = threading.Lock()
        self.task = self.progress.add_task(
            description, total=total_bytes, files=0, total_files=total_files
        )

    def set_totals(self, total_bytes: int | None, total_files: int) -> None:
        """What the run moves, once known (``sync`` knows after planning)."""
        self.progress.update(self.task, total=total_bytes or None, total_files=total_files)

    def on_queued(self, item: Any) -> None:
        if not self.add_queued:
            return
        with self._lock:
            self.queued_bytes += getattr(item, "size", 0) or 0
            self.queued_files += 1
            self.set_totals(self.queued_bytes, self.queued_files)

    def on_progress(self, item: Any, nbytes: int) -> None:
        self.progress.advance(self.task, nbytes)

    def on_done(self, item: Any, error: BrainbucketError | None) -> None:
        with self._lock:
            self.files += 1
            self.progress.update(self.task, files=self.files)

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()
