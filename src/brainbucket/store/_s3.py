"""S3 (and S3-compatible) store: boto3 for the control plane, obstore for the data path.

boto3 costs ~3 ms of CPU per request; obstore (Rust) ~0.3 ms, which is what makes small-file
transfers fast. The store is put together from three parts, one per responsibility:

- reads (``_s3_read``, listings in ``_s3_list``): heads, streamed reads, and downloads along
  the route the download router (``_route``) picks — the store's own HTTP readers
  (``_http``) for signed reads of current versions, obstore's streams for the rest, ranged
  and resumable reads for large files (``_resume``);
- writes (``_s3_write``): puts, uploads (multipart above 64 MiB), deletes, and the multipart
  verbs resumable uploads are built from;
- control plane (``_s3_control``): buckets, versioning, versions, presigned URLs, bucket
  policies, anonymous access and "who am I", through boto3.

Which server and which credentials is settled once, in the session (``_session``), from one
:class:`~brainbucket.store.S3Settings` value.
"""

from __future__ import annotations

from ._s3_control import S3Control
from ._s3_read import S3Reads
from ._s3_write import MULTIPART_THRESHOLD, PART_SIZE, S3Writes

__all__ = ["MULTIPART_THRESHOLD", "PART_SIZE", "S3Store"]


class S3Store(S3Reads, S3Writes, S3Control):
    """A bucket, or a prefix in one, on AWS S3 or any S3-compatible server.

    What it can do beyond the core verbs is in :attr:`capabilities`.

    Parameters
    ----------
    url
        An ``s3`` :class:`~brainbucket._url.StoreURL`.
    settings
        Endpoint, profile, anonymous access (:class:`~brainbucket.store.S3Settings`).
    """
