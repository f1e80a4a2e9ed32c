"""The pure planner: (local state, remote state) → actions with reasons. No I/O here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import UnsafeKeyError
from .._hashing import plain_md5
from .._paths import local_path_for
from .._types import RemoteFile
from ._actions import Action, Delete, DeleteLocal, Download, Upload
from ._local import LocalFile

__all__ = ["Plan", "plan_download", "plan_upload", "same_content"]


@dataclass
class Plan:
    """Actions with reasons, and what was left alone.

    Attributes
    ----------
    direction
        ``"upload"`` or ``"download"``.
    actions
        In path order (transfers, then deletes).
    unchanged
        Number of files already identical on both sides.
    unchanged_bytes
        Their bytes.
    errors
        ``(path, problem)`` for files that were refused or could not be read.
    """

    direction: str
    actions: list[Action] = field(default_factory=list)
    unchanged: int = 0
    unchanged_bytes: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def transfers(self) -> list[Action]:
        return [a for a in self.actions if isinstance(a, Upload | Download)]

    @property
    def deletes(self) -> list[Action]:
        return [a for a in self.actions if isinstance(a, Delete | DeleteLocal)]

    @property
    def transfer_bytes(self) -> int:
        return sum(a.size for a in self.transfers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "actions": [a.to_dict() for a in self.actions],
            "unchanged": self.unchanged,
            "unchanged_bytes": self.unchanged_bytes,
            "transfer_bytes": self.transfer_bytes,
            "errors": [{"path": p, "error": e} for p, e in self.errors],
        }


def same_content(local: LocalFile, remote: RemoteFile) -> tuple[bool, str]:
    """Whether both sides hold the same bytes, and if not, why (the action's reason).

    Sizes first; then sha256 when the remote side has one; else the MD5 of a plain ETag.
    A remote object with neither (a multipart upload by another tool) is judged by size.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> loc = LocalFile("a", "/a", 3, 0, 0, sha256="sha256:" + "1" * 64)
    >>> same_content(loc, NS(size=4, sha256=None, etag=None))
    (False, 'size changed')
    >>> same_content(loc, NS(size=3, sha256="sha256:" + "2" * 64, etag=None))
    (False, 'content changed (same size)')
    """
    if local.size != remote.size:
        return False, "size changed"
    if remote.sha256:
        if local.sha256 is None:
            return False, "not hashed"
        return (
            (True, "") if local.sha256 == remote.sha256 else (False, "content changed (same size)")
        )
    md5 = plain_md5(remote.etag)
    if md5 and local.md5:
        return (True, "") if local.md5 == md5 else (False, "content changed (same size, MD5)")
    return True, ""


def needs_hash(local: LocalFile, remote: RemoteFile | None) -> tuple[bool, bool]:
    """``(sha256 needed, md5 needed)`` to compare ``local`` with ``remote``."""
    if remote is None or remote.size != local.size:
        return False, False
    if remote.sha256:
        return local.sha256 is None, False
    if plain_md5(remote.etag) is not None:
        return False, local.md5 is None
    # No digest on the remote side (a multipart object): judged by size, but its sha256 is
    # still needed to record it when the manifest is first written.
    return local.sha256 is None, False


def _sorted(actions: Iterable[Action]) -> list[Action]:
    return sorted(actions, key=lambda a: a.path)


def plan_upload(
    local: Mapping[str, LocalFile],
    remote: Mapping[str, RemoteFile],
    *,
    delete: bool = False,
    selected: Callable[[str], bool] | None = None,
    errors: Iterable[tuple[str, str]] = (),
    same: Set[str] = frozenset(),
) -> Plan:
    """Plan an upload: send what is new or changed; with ``delete``, remove remote extras.

    Only remote paths that ``selected`` keeps are candidates for deletion, so a partial
    selection never deletes what it did not select. ``same`` names paths already known
    identical on both sides (a subset of ``remote``); they are not looked up.
    """
    plan = Plan("upload", errors=list(errors))
    transfers: list[Action] = []
    for path, f in local.items():
        if path in same:
            plan.unchanged += 1
            plan.unchanged_bytes += f.size
            continue
        r = remote.get(path)
        if r is None:
            transfers.append(Upload(Path(f.abspath), path, f.size, f.sha256, "new"))
            continue
        equal, why = same_content(f, r)
        if equal:
            plan.unchanged += 1
            plan.unchanged_bytes += f.size
        else:
            transfers.append(Upload(Path(f.abspath), path, f.size, f.sha256, why))
    deletes: list[Action] = []
    # When every remote path is known identical to a local file, there is nothing extra.
    if delete and not (same and len(remote) == len(same)):
        for path in remote:
            if path not in local and (selected is None or selected(path)):
                deletes.append(Delete(path, remote[path].size, "not in source"))
    plan.actions = _sorted(transfers) + _sorted(deletes)
    return plan


def plan_download(
    remote: Mapping[str, RemoteFile],
    local: Mapping[str, LocalFile],
    *,
    root: Path,
    delete: bool = False,
    selected: Callable[[str], bool] | None = None,
    errors: Iterable[tuple[str, str]] = (),
    same: Set[str] = frozenset(),
) -> Plan:
    """Plan a download into ``root``: fetch what is missing or changed, refuse unsafe keys.

    Keys that would land outside ``root`` are refused; a key that is also a folder of other
    keys (``a`` and ``a/b``) cannot exist on disk and is refused too; with ``delete``, local
    files the remote side lacks are removed (only those ``selected`` keeps). ``same`` names
    paths already known identical on both sides (a subset of ``remote``).
    """
    plan = Plan("download", errors=list(errors))
    if same and selected is None and len(remote) == len(same):
        # Everything remote is already here: only local extras can need work.
        plan.unchanged = len(same)
        plan.unchanged_bytes = sum(local[p].size for p in same if p in local)
        if delete:
            plan.actions = _sorted(
                DeleteLocal(path, Path(f.abspath), f.size, "not in source")
                for path, f in local.items()
                if path not in same and remote.get(path) is None
            )
        return plan
    wanted = [p for p in remote if selected is None or selected(p)]
    folders: set[str] = set()
    for p in wanted:
        parts = p.split("/")
        for i in range(1, len(parts)):
            folders.add("/".join(parts[:i]))
    transfers: list[Action] = []
    for path in wanted:
        r = remote[path]
        try:
            dest = local_path_for(root, path)
        except UnsafeKeyError as exc:
            plan.errors.append((path, f"refused: {exc}"))
            continue
        if path in folders:
            plan.errors.append(
                (path, "clashes with a folder of the same name (both 'a' and 'a/...' exist)")
            )
            continue
        if path in same:
            plan.unchanged += 1
            plan.unchanged_bytes += r.size
            continue
        f = local.get(path)
        if f is None:
            why = "new"
        else:
            equal, why = same_content(f, r)
            if equal:
                plan.unchanged += 1
                plan.unchanged_bytes += f.size
                continue
        # Manifest entries may carry BLAKE3 (checked instead of the slower SHA-256); listed
        # objects do not. A manifest entry's version id pins the read to the bytes it
        # describes, even if the object was overwritten since.
        transfers.append(
            Download(path, dest, r.size, r.sha256, r.version_id, r.etag, why, r.blake3)
        )
    deletes: list[Action] = []
    if delete:
        for path, f in local.items():
            if path not in remote and (selected is None or selected(path)):
                deletes.append(DeleteLocal(path, Path(f.abspath), f.size, "not in source"))
    plan.actions = _sorted(transfers) + _sorted(deletes)
    return plan
