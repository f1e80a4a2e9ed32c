"""The assembly catalog: identifier → every version's record, shared through the bucket.

One small JSON object at ``<root>/.brainbucket/assemblies/catalog.json``. It only ever moves
by conditional write: created with If-None-Match, replaced with If-Match on the ETag that was
read (checked before and after the write instead where the server ignores conditional writes,
:func:`~brainbucket.store.swap_bytes`). A writer that loses the race re-reads, re-applies its
change and tries again, so two concurrent uploads both end up in the catalog.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._exceptions import (
    AssemblyNotFoundError,
    ConflictError,
    IntegrityError,
    ManifestError,
    ObjectNotFoundError,
)
from ..store import Store, swap_bytes
from ._record import AssemblyRecord

__all__ = ["CATALOG_PATH", "Catalog", "read_catalog", "update_catalog"]

CATALOG_PATH = ".brainbucket/assemblies/catalog.json"
FORMAT = "brainbucket.assembly-catalog"
FORMAT_VERSION = 1
MAX_ATTEMPTS = 40

T = TypeVar("T")


@dataclass
class Catalog:
    """Every identifier's versions, oldest first, and the ETag the catalog was read at.

    Attributes
    ----------
    entries
        ``identifier → [record, ...]``, oldest first.
    etag
        ETag of the catalog object that was read; ``None`` if it did not exist yet.
    """

    entries: dict[str, list[AssemblyRecord]] = field(default_factory=dict)
    etag: str | None = None

    def identifiers(self) -> list[str]:
        return sorted(self.entries)

    def versions(self, identifier: str) -> list[AssemblyRecord]:
        """Every version of ``identifier``, oldest first.

        Raises
        ------
        AssemblyNotFoundError
            If the catalog has no such identifier (the message lists those it has).
        """
        records = self.entries.get(identifier)
        if not records:
            known = self.identifiers()
            shown = ", ".join(known[:10]) + (
                f" (and {len(known) - 10} more)" if len(known) > 10 else ""
            )
            msg = f"no assembly {identifier!r} in the catalog; it holds: {shown or 'nothing yet'}"
            raise AssemblyNotFoundError(msg, known=known)
        return list(records)

    def latest(self, identifier: str) -> AssemblyRecord:
        return self.versions(identifier)[-1]

    def find(
        self, identifier: str, *, version_id: str | None = None, sha1: str | None = None
    ) -> AssemblyRecord:
        """The record of one version: by version id, by sha1, or the newest.

        Raises
        ------
        AssemblyNotFoundError
            Unknown identifier or version id (the message lists the versions there are).
        IntegrityError
            The version exists but its sha1 is not ``sha1``, or no version has that sha1.
        """
        records = self.versions(identifier)
        sha1 = sha1.lower() if sha1 else None
        if version_id is not None:
            matches = [r for r in records if r.version_id == version_id]
            if not matches:
                known = [r.version_id or f"sha1:{r.sha1}" for r in records]
                msg = (
                    f"assembly {identifier!r} has no version {version_id!r}; "
                    f"versions (oldest first): {', '.join(known)}"
                )
                raise AssemblyNotFoundError(
                    msg, known=known, hint=f"see `brainbucket assembly versions {identifier}`"
                )
            record = matches[-1]
            if sha1 is not None and record.sha1 != sha1:
                msg = (
                    f"{record.short}: its sha1 is {record.sha1}, not the expected {sha1}; "
                    "nothing was downloaded"
                )
                raise IntegrityError(msg, hint="check the (version_id, sha1) pair you were given")
            return record
        if sha1 is not None:
            matches = [r for r in records if r.sha1 == sha1]
            if not matches:
                shas = ", ".join(r.sha1 for r in records)
                msg = f"no version of {identifier!r} has sha1 {sha1}; known sha1s: {shas}"
                raise IntegrityError(msg, hint="check the sha1 you were given")
            return matches[-1]
        return records[-1]

    def add(self, record: AssemblyRecord) -> AssemblyRecord:
        """Append ``record`` unless that exact version is already there; return what is there."""
        records = self.entries.setdefault(record.identifier, [])
        for r in records:
            if (r.sha1, r.version_id, r.path) == (record.sha1, record.version_id, record.path):
                return r
        records.append(record)
        return record

    def __iter__(self) -> Iterator[AssemblyRecord]:
        for identifier in self.identifiers():
            yield from self.entries[identifier]

    def to_bytes(self) -> bytes:
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "assemblies": {k: [r.to_dict() for r in v] for k, v in sorted(self.entries.items())},
        }
        return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, *, etag: str | None = None, what: str = "catalog") -> Catalog:
        """Parse a catalog object.

        Raises
        ------
        ManifestError
            Truncated, not JSON, wrong format, or holding malformed records.
        """
        try:
            doc: Any = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            msg = f"{what}: the assembly catalog is not valid JSON ({exc})"
            raise ManifestError(msg) from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            msg = f"{what}: not a brainbucket assembly catalog"
            raise ManifestError(msg)
        if doc.get("format_version") != FORMAT_VERSION:
            msg = f"{what}: catalog format version {doc.get('format_version')!r} is not supported"
            raise ManifestError(msg, hint="upgrade brainbucket to read this catalog")
        raw = doc.get("assemblies")
        if not isinstance(raw, dict):
            msg = f"{what}: the catalog has no 'assemblies' table"
            raise ManifestError(msg)
        entries: dict[str, list[AssemblyRecord]] = {}
        for identifier, records in raw.items():
            if not isinstance(records, list):
                msg = f"{what}: entry {identifier!r} is not a list of versions"
                raise ManifestError(msg)
            parsed = [AssemblyRecord.from_dict(r, what=what) for r in records]
            if any(r.identifier != identifier for r in parsed):
                msg = f"{what}: entry {identifier!r} holds records of another identifier"
                raise ManifestError(msg)
            entries[identifier] = parsed
        return cls(entries, etag)


def read_catalog(store: Store) -> Catalog:
    """Read the catalog of ``store`` (empty if it has none yet).

    The bytes and the ETag come from the same GET, so a later If-Match write can never be
    based on a catalog other than the one that was read.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> read_catalog(open_store(tempfile.mkdtemp())).identifiers()
    []
    """
    try:
        # _open_stream is the one call that returns the bytes together with their ETag.
        meta, chunks = store.stream(CATALOG_PATH)
        data = b"".join(chunks)
    except ObjectNotFoundError:
        return Catalog()
    return Catalog.from_bytes(data, etag=meta.etag, what=store.describe(CATALOG_PATH))


def update_catalog(
    store: Store,
    change: Callable[[Catalog], T],
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Apply ``change`` to the freshest catalog and write it back conditionally.

    ``change`` mutates the catalog it is given and returns a result; it may run several times
    (once per attempt), each time on a freshly read catalog, so it must only depend on it.

    Raises
    ------
    ConflictError
        If every attempt lost a race (more than ``attempts`` concurrent writers).
    """
    for attempt in range(attempts):
        catalog = read_catalog(store)
        result = change(catalog)
        try:
            swap_bytes(
                store,
                CATALOG_PATH,
                catalog.to_bytes(),
                expected=catalog.etag,
                content_type="application/json",
            )
        except ConflictError:
            # Someone else wrote first: back off a little (jittered, so racers spread out).
            sleep(random.uniform(0.005, min(0.5, 0.02 * 2 ** min(attempt, 5))))
            continue
        return result
    msg = f"{store.describe(CATALOG_PATH)}: the catalog kept changing; gave up after {attempts} attempts"
    raise ConflictError(msg)
