"""Remembering what a server was found to support, so that a command pays for a probe once.

Answers are kept per endpoint (what a server supports does not depend on the bucket):

- in memory, for the rest of the process;
- on disk, in ``servers.json`` in brainbucket's cache folder, for
  ``BRAINBUCKET_CAPABILITY_TTL`` seconds (a day by default), so that the next command —
  a no-op ``sync``, say — asks nothing.

A server on this machine (``localhost``, ``127.0.0.1``) is remembered by the store that asked
only: a local test server on a free port is often a *different* server at the same address the
next time, and a wrong "yes" for conditional writes would let an update be lost silently. A
probe there costs a few milliseconds.

Unknown answers (a probe the credentials may not make) are not kept here at all: the store
that asked keeps them, so that it does not ask twice, and other credentials try again.

The file is rewritten whole (temporary file, then rename); two processes writing at once can
only lose an answer, which costs a probe.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._reach import is_local

__all__ = ["FORMAT", "ProbeCache", "forget_all"]

FORMAT = "brainbucket.server-capabilities"

_MISSING: Any = object()

# endpoint → capability → (answer, when): the process's memory, shared by every store.
_MEMORY: dict[str, dict[str, tuple[bool | None, float]]] = {}
_LOCK = threading.Lock()


def forget_all() -> None:
    """Drop every answer remembered in this process (the disk file stays)."""
    with _LOCK:
        _MEMORY.clear()


def _shared(endpoint: str) -> bool:
    """Whether answers about ``endpoint`` may outlive the store that found them."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    return not is_local(host)


class ProbeCache:
    """The remembered answers about one endpoint.

    Parameters
    ----------
    endpoint
        The server's URL (answers are per endpoint).
    path
        The file shared by processes; ``None``: memory only.
    ttl
        How long an answer on disk holds, in seconds; 0 or less: never kept on disk.
    shared
        Whether the answers outlive this object (default: unless the server is on this
        machine).
    clock
        Seconds since the epoch (tests pass their own).

    Examples
    --------
    >>> cache = ProbeCache("https://s3.example.org", path=None, ttl=60)
    >>> cache.get("conditional_writes") is None, cache.has("conditional_writes")
    (True, False)
    >>> cache.put("conditional_writes", False)
    >>> cache.get("conditional_writes"), cache.has("conditional_writes")
    (False, True)
    >>> forget_all()
    """

    def __init__(
        self,
        endpoint: str,
        *,
        path: Path | None,
        ttl: float,
        shared: bool | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoint = endpoint
        self.shared = _shared(endpoint) if shared is None else shared
        self.path = path if self.shared and ttl > 0 else None
        self.ttl = ttl
        self.clock = clock
        self._own: dict[str, tuple[bool | None, float]] = {}
        self._loaded = False

    def _memory(self) -> dict[str, tuple[bool | None, float]]:
        if not self.shared:
            return self._own
        return _MEMORY.setdefault(self.endpoint, {})

    def lookup(self, name: str) -> tuple[bool | None, str] | None:
        """``(answer, "remembered")`` if one holds, else ``None``."""
        with _LOCK:
            memory = self._memory()
            if name not in memory and self.path is not None and not self._loaded:
                self._loaded = True
                for key, value in self._read_disk().items():
                    memory.setdefault(key, value)
            found = memory.get(name, _MISSING)
        if found is _MISSING:
            return None
        answer, when = found
        if self.path is not None and answer is not None and self.clock() - when > self.ttl:
            return None  # stale: probe again
        return answer, "remembered"

    def get(self, name: str) -> bool | None:
        """The remembered answer (``None`` also when nothing is remembered)."""
        found = self.lookup(name)
        return None if found is None else found[0]

    def has(self, name: str) -> bool:
        return self.lookup(name) is not None

    def put(self, name: str, answer: bool | None) -> None:
        """Remember ``answer`` (unknown ones in memory only)."""
        now = self.clock()
        with _LOCK:
            self._memory()[name] = (answer, now)
            if self.path is None or answer is None:
                return
            servers = self._read_file()
            entry = servers.setdefault(self.endpoint, {})
            entry[name] = {"supported": answer, "at": now}
            self._write_file(servers)

    # -- the file ---------------------------------------------------------------------------

    def _read_file(self) -> dict[str, Any]:
        assert self.path is not None
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: it is only a cache, probe again
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return {}
        servers = doc.get("servers")
        return servers if isinstance(servers, dict) else {}

    def _read_disk(self) -> dict[str, tuple[bool | None, float]]:
        entry = self._read_file().get(self.endpoint)
        out: dict[str, tuple[bool | None, float]] = {}
        if not isinstance(entry, dict):
            return out
        for name, value in entry.items():
            with contextlib.suppress(TypeError, KeyError, ValueError):
                if isinstance(value["supported"], bool):
                    out[name] = (value["supported"], float(value["at"]))
        return out

    def _write_file(self, servers: dict[str, Any]) -> None:
        assert self.path is not None
        now = self.clock()
        # Drop what has expired everywhere, so the file does not grow without end.
        for endpoint in list(servers):
            entry = servers[endpoint]
            if isinstance(entry, dict):
                for name in list(entry):
                    with contextlib.suppress(TypeError, KeyError, ValueError):
                        if now - float(entry[name]["at"]) > self.ttl:
                            del entry[name]
            if not entry:
                del servers[endpoint]
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": FORMAT, "servers": servers}, indent=1), "utf-8")
            os.replace(tmp, self.path)
