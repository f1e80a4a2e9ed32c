"""Progress: one subscriber protocol for every feature that moves files.

A feature reports on its own items — :func:`~brainbucket.sync` and
:func:`~brainbucket.sync.execute` on their actions, :class:`~brainbucket.Mirror` on the keys
it fetches, :func:`brainbucket.hcp.fetch` on its :class:`~brainbucket.hcp.HCPFile` objects —
through the same three calls, so one subscriber (a progress bar, a log, a counter) serves
them all. Below the features, store verbs report plain byte counts
(``Callable[[int], None]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ._exceptions import BrainbucketError

__all__ = ["Callbacks"]

# A subscriber only takes items in: one for any object serves a feature reporting actions.
Item = TypeVar("Item", contravariant=True)


class Callbacks(Generic[Item]):
    """Subscriber for progress; override what you need (every method is a no-op here).

    ``Callbacks[T]`` receives items of type ``T``: the feature's own objects. Each feature
    says from which thread it calls (the executor's thread for ``sync``, the fetching
    threads for ``Mirror``), so a subscriber shared between threads must be thread-safe.

    Examples
    --------
    >>> class Count(Callbacks):
    ...     def __init__(self):
    ...         self.bytes, self.files = 0, 0
    ...     def on_progress(self, item, nbytes):
    ...         self.bytes += nbytes
    ...     def on_done(self, item, error):
    ...         self.files += error is None
    >>> count = Count()
    >>> count.on_progress("sub-01/anat/T1w.nii.gz", 1024)
    >>> count.on_done("sub-01/anat/T1w.nii.gz", None)
    >>> count.bytes, count.files
    (1024, 1)
    """

    def on_queued(self, item: Item) -> None:
        """``item`` will be transferred."""

    def on_progress(self, item: Item, nbytes: int) -> None:
        """``nbytes`` more bytes of ``item`` moved (may repeat after a retry)."""

    def on_done(self, item: Item, error: BrainbucketError | None) -> None:
        """``item`` finished; ``error`` is ``None`` on success."""
