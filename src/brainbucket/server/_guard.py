"""One embedded server per data folder, and no server left without its parent.

- :class:`DataLock`: an exclusive lock on ``DIR/server.lock``, taken before anything in the
  data folder is written and held while the server runs. A second server on the same folder
  would otherwise rewrite the first one's identities, options and log, and then die in
  SeaweedFS's own store lock with a Go stack trace. The lock file names the holder (pid and
  endpoint) so the refusal can say which server to stop. The kernel releases the lock when the
  holder dies, however it dies.
- :func:`die_with_parent`: on Linux, SeaweedFS gets SIGTERM when the Python process that
  started it dies (``prctl(PR_SET_PDEATHSIG)``), so a parent killed without a chance to stop
  it (SIGTERM's default action, SIGKILL, a crash) does not leave it serving the folder.
- :func:`startup_failure`: the line SeaweedFS's log gives as the reason it stopped, instead of
  the tail of a stack trace.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .._exceptions import ServeError

__all__ = ["LOCK_NAME", "DataLock", "die_with_parent", "startup_failure"]

LOCK_NAME = "server.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; start as before
    fcntl = None  # type: ignore[assignment]

_PR_SET_PDEATHSIG = 1
# glog's fatal lines: "F1206 05:49:56.355141 configuration.go:26 failed to initialize ...".
_FATAL_RE = re.compile(r"^F\d{4} [\d:.]+\s+(?:\d+\s+)?\S+\.go:\d+\]?\s+(.*)$")


class DataLock:
    """An exclusive lock on a server's data folder, held from before the first write until
    the server stops.

    Parameters
    ----------
    data_dir
        The folder; the lock file ``server.lock`` lives in it (and is kept, empty, after a
        stop: removing it would let two starters lock two different files).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or refuse, touching nothing, if a running server holds it.

        Raises
        ------
        ServeError
            The folder is in use: names the holder's pid and endpoint.
        """
        if self._fd is not None or fcntl is None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise _in_use(self.data_dir, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def note(self, endpoint_url: str) -> None:
        """Record who holds the lock: this process and the endpoint it serves."""
        if self._fd is None:
            return
        doc = json.dumps({"pid": os.getpid(), "endpoint_url": endpoint_url}).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, doc, 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor releases the lock


def _read(fd: int) -> dict[str, object]:
    try:
        raw = os.pread(fd, 4096, 0)
        doc = json.loads(raw) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _in_use(data_dir: Path, holder: dict[str, object]) -> ServeError:
    pid = holder.get("pid")
    endpoint = holder.get("endpoint_url")
    who = ", ".join(
        str(p) for p in (f"pid {pid}" if pid else None, endpoint or "starting") if p is not None
    )
    msg = f"the data folder {data_dir} is in use by a running server ({who})"
    stop = f"stop it first (Ctrl-C where it runs, or `kill {pid}`)" if pid else "stop it first"
    return ServeError(msg, hint=f"{stop}, or serve another folder with --data DIR")


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent SIGTERM when this process dies; ``None``
    where that cannot be arranged.

    Linux only. The signal follows the *thread* that started the child, so it is arranged
    only from the main thread, whose end is the process's end: a server started from a
    worker thread must not stop when that thread does.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arrange() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above ran
            os._exit(1)

    return arrange


def startup_failure(log: Path, offset: int) -> str:
    """The reason SeaweedFS gave for stopping, from its log written since ``offset``."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    for line in text.splitlines():
        m = _FATAL_RE.match(line.strip())
        if m:
            return m.group(1).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln[:1].isspace()]
    return lines[-1][:200] if lines else ""
