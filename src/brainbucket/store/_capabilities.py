"""What a store can do, said by the store: features consult this, never a backend's class.

| capability           | S3 bucket | local folder | what consults it                            |
|----------------------|:---------:|:------------:|---------------------------------------------|
| ``buckets``          | yes       | no           | ``mb``, the bucket check before a first sync |
| ``versioning``       | yes       | no           | assemblies (version ids), ``versions``       |
| ``conditional_writes`` | yes     | yes          | the manifest pointer, the assembly catalog   |
| ``server_checksums`` | yes       | no           | uploads (a checksum the server verifies)     |
| ``presign``          | yes       | no           | ``share``                                    |
| ``policies``         | yes       | no           | ``publish``, ``unpublish``, ``access``       |
| ``anonymous``        | yes       | no           | the public-read probe, ``doctor``            |
| ``ranged_reads``     | yes       | yes          | reads of part of an object                   |
| ``multipart``        | yes       | no           | resumable uploads of large files             |
| ``resumable_reads``  | yes       | no           | large downloads kept across runs (by range)  |

A server that lacks a feature is one row of this table, and the verb that needs it raises one
clear :class:`~brainbucket.UsageError` (see :func:`unsupported`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._exceptions import UsageError

__all__ = ["LOCAL", "S3", "Capabilities", "unsupported"]


@dataclass(frozen=True)
class Capabilities:
    """What one store supports.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> caps = open_store(tempfile.mkdtemp()).capabilities
    >>> caps.conditional_writes, caps.policies
    (True, False)
    """

    buckets: bool = False
    versioning: bool = False
    conditional_writes: bool = False
    server_checksums: bool = False
    presign: bool = False
    policies: bool = False
    anonymous: bool = False
    ranged_reads: bool = False
    multipart: bool = False
    resumable_reads: bool = False


S3 = Capabilities(
    buckets=True,
    versioning=True,
    conditional_writes=True,
    server_checksums=True,
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
