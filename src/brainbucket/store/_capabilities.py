"""What a store can do, said by the store: features consult this, never a backend's class.

| capability           | S3 bucket | local folder | what consults it                            |
|----------------------|:---------:|:------------:|---------------------------------------------|
| ``buckets``          | yes       | no           | ``mb``, the bucket check before a first sync |
| ``versioning``       | asked     | no           | assemblies (version ids), ``versions``       |
| ``conditional_writes`` | probed  | yes          | the manifest pointer, the assembly catalog   |
| ``server_checksums`` | probed    | no           | uploads (a checksum the server verifies)     |
| ``multipart_etags``  | probed    | no           | ``verify`` of large files, ``doctor``        |
| ``presign``          | probed    | no           | ``share``                                    |
| ``policies``         | asked     | no           | ``publish``, ``unpublish``, ``access``       |
| ``anonymous``        | probed    | no           | the public-read probe, ``doctor``            |
| ``ranged_reads``     | yes       | yes          | reads of part of an object                   |
| ``multipart``        | yes       | no           | resumable uploads of large files             |
| ``resumable_reads``  | yes       | no           | large downloads kept across runs (by range)  |

A local folder's answers are fixed. An S3 store learns its server's answers when a feature
first asks ("asked": by the API; "probed": by a small test under the store's
``.brainbucket/`` prefix), see :mod:`brainbucket.store._probe`. An answer that could not be
found out (a probe the credentials may not make) is *unknown*; the attribute then reads as
the safe assumption (:data:`UNKNOWN_MEANS`), and ``doctor`` shows it as unknown.

A server that lacks a feature is one row of this table, and the verb that needs it raises one
clear :class:`~brainbucket.UsageError` (see :func:`unsupported`); :data:`WHERE_MISSING` says
what brainbucket does instead.
"""

from __future__ import annotations

from typing import Any, ClassVar, overload

from .._exceptions import UsageError

__all__ = [
    "LOCAL",
    "NAMES",
    "S3",
    "UNKNOWN_MEANS",
    "WHERE_MISSING",
    "Capabilities",
    "unsupported",
]

NAMES = (
    "buckets",
    "versioning",
    "conditional_writes",
    "server_checksums",
    "multipart_etags",
    "presign",
    "policies",
    "anonymous",
    "ranged_reads",
    "multipart",
    "resumable_reads",
)

# What an unknown answer reads as: whatever is safe to assume. Conditional writes unknown
# means the checked commit (correct on any server); versions unknown means keys that never
# overwrite; the rest let the real request give its real error.
UNKNOWN_MEANS: dict[str, bool] = {
    "versioning": False,
    "conditional_writes": False,
    "server_checksums": False,
    "multipart_etags": False,
}

# What brainbucket does where the store lacks a capability (``doctor`` shows it).
WHERE_MISSING: dict[str, str] = {
    "buckets": "no buckets to create or check (a local folder)",
    "versioning": "assemblies keep each version under its own sha1 key; a file overwritten "
    "during a download is refused, never mixed; `versions` is refused",
    "conditional_writes": "manifest and catalog updates re-read the pointer before and after "
    "writing and fail with exit 7 when another writer got in; concurrent writers are "
    "caught, not prevented (`sync` warns)",
    "server_checksums": "uploads are not checked by the server; `brainbucket verify URL "
    "--deep` re-reads them",
    "multipart_etags": "large files are checked by size and sha256, not by their ETag",
    "presign": "`share` is refused",
    "policies": "`publish` and `unpublish` are refused",
    "anonymous": "no public data: unsigned reads fail and `access` reports private",
    "ranged_reads": "files are read whole",
    "multipart": "large files go up in one request, not resumably",
    "resumable_reads": "an interrupted large download starts again",
}


class _Capability:
    """One capability: reads as a bool, from the store's answer (``None`` → the safe one)."""

    name: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> _Capability: ...

    @overload
    def __get__(self, obj: Capabilities, owner: type) -> bool: ...

    def __get__(self, obj: Capabilities | None, owner: type) -> _Capability | bool:
        if obj is None:
            return self
        answer = obj.answer(self.name)
        return UNKNOWN_MEANS.get(self.name, True) if answer is None else answer


class Capabilities:
    """What one store supports.

    Each capability reads as ``True``/``False``; :meth:`answer` also says when it is unknown.

    Parameters
    ----------
    **answers
        ``name=True`` for each capability the store has (the rest: no).

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> caps = open_store(tempfile.mkdtemp()).capabilities
    >>> caps.conditional_writes, caps.policies
    (True, False)
    """

    buckets = _Capability()
    versioning = _Capability()
    conditional_writes = _Capability()
    server_checksums = _Capability()
    multipart_etags = _Capability()
    presign = _Capability()
    policies = _Capability()
    anonymous = _Capability()
    ranged_reads = _Capability()
    multipart = _Capability()
    resumable_reads = _Capability()

    names: ClassVar[tuple[str, ...]] = NAMES

    def __init__(self, **answers: bool) -> None:
        unknown = set(answers) - set(NAMES)
        if unknown:
            msg = f"no such capability: {', '.join(sorted(unknown))}"
            raise TypeError(msg)
        self._static = {name: bool(answers.get(name, False)) for name in NAMES}

    def answer(self, name: str) -> bool | None:
        """``True``, ``False``, or ``None`` when it could not be found out."""
        return self._static[name]

    @staticmethod
    def where_missing(name: str) -> str:
        """What brainbucket does where a store lacks capability ``name``.

        Examples
        --------
        >>> Capabilities.where_missing("presign")
        '`share` is refused'
        """
        return WHERE_MISSING[name]

    def how(self, name: str) -> str:
        """How the answer was found: ``"static"`` here; ``"probed"``/``"remembered"`` for a
        server's answers."""
        return "static"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Capabilities):
            return NotImplemented
        return all(self.answer(n) == other.answer(n) for n in NAMES)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        have = ", ".join(f"{n}={self._static[n]}" for n in NAMES if self._static[n])
        return f"Capabilities({have})"

    def to_dict(self, names: tuple[str, ...] = NAMES) -> dict[str, Any]:
        """Each capability: its answer (``None``: unknown), how it was found, and what
        brainbucket does where it is missing (what ``doctor --json`` shows)."""
        return {
            n: {
                "supported": self.answer(n),
                "how": self.how(n),
                "where_missing": self.where_missing(n),
            }
            for n in names
        }


S3 = Capabilities(
    buckets=True,
    versioning=True,
    conditional_writes=True,
    server_checksums=True,
    multipart_etags=True,
    presign=True,
    policies=True,
    anonymous=True,
    ranged_reads=True,
    multipart=True,
    resumable_reads=True,
)
LOCAL = Capabilities(conditional_writes=True, ranged_reads=True)

_NEEDS = {
    "buckets": "creating buckets",
    "versioning": "object versions",
    "presign": "links anyone can fetch",
    "policies": "bucket policies (public access)",
    "anonymous": "anonymous access",
    "multipart": "multipart uploads",
    "whoami": "identity service",
}


def unsupported(where: str, capability: str, *, hint: str | None = None) -> UsageError:
    """The one error for a verb the store at ``where`` cannot do.

    Examples
    --------
    >>> str(unsupported("/tmp/x", "policies"))
    '/tmp/x: this store has no bucket policies (public access)'
    """
    what = _NEEDS.get(capability, capability)
    msg = f"{where}: this store has no {what}"
    return UsageError(msg, hint=hint or "use an s3:// URL")
