"""Finding out what an S3 server supports: by the API where it can say, by a probe where not.

S3-compatible servers differ in what they honour, and some accept a request they then ignore
(``rclone serve s3`` takes ``If-None-Match: *`` on an existing key and overwrites it). So an S3
store's :attr:`~brainbucket.store.Store.capabilities` are found out, one at a time, when a
feature first asks:

| capability           | how it is found out                                                  | remembered        |
|----------------------|----------------------------------------------------------------------|-------------------|
| ``versioning``       | ``GetBucketVersioning`` says ``Enabled``                              | by the store      |
| ``policies``         | ``GetBucketPolicy`` answers a JSON policy or ``NoSuchBucketPolicy``  | per endpoint      |
| ``conditional_writes`` | a probe object: created with ``If-None-Match: *``; a second such PUT and one with a wrong ``If-Match`` must both be refused (412) | per endpoint |
| ``server_checksums`` | a PUT with a wrong ``x-amz-checksum-sha256`` must be refused         | per endpoint      |
| ``multipart_etags``  | a one-part multipart upload: its HEAD must give the ``md5-N`` ETag   | per endpoint      |
| ``anonymous``        | an unsigned listing is answered (allowed or denied), not rejected    | per endpoint      |
| ``presign``          | a presigned GET of a missing key gets 404, not 403                   | per endpoint      |

Probe objects live under the store's own ``.brainbucket/`` prefix (where ``sync`` writes its
manifest, so whoever can sync can probe) and are deleted, every version of them, at once.
Answers are remembered as :mod:`~brainbucket.store._probe_cache` says; a probe the credentials
may not make gives an unknown answer, read as the safe assumption
(:data:`~brainbucket.store._capabilities.UNKNOWN_MEANS`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import obstore

from .._config import Config
from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    ConflictError,
    NotFoundError,
)
from ._capabilities import NAMES, S3, Capabilities
from ._probe_cache import ProbeCache

if TYPE_CHECKING:
    from ._s3_core import S3Core

__all__ = ["PROBE_PREFIX", "ServerCapabilities"]

PROBE_PREFIX = ".brainbucket/probe-"

# Error codes that say "this server does not do that" rather than "not you" or "not now".
_UNSUPPORTED = {"NotImplemented", "MethodNotAllowed", "UnsupportedAlgorithm", "InvalidRequest"}


def _code(exc: BaseException) -> tuple[str | None, int | None]:
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code, status


class _Probe:
    """One probe's objects: unique keys under ``.brainbucket/``, every version removed after."""

    def __init__(self, store: S3Core) -> None:
        self.store = store
        self.path = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        self.versions: set[str | None] = set()

    @property
    def key(self) -> str:
        return self.store.key(self.path)

    def cleanup(self) -> None:
        store = self.store
        with contextlib.suppress(BrainbucketError, Exception):
            if self.versions - {None}:
                for version in self.versions - {None}:
                    store.client.delete_object(Bucket=store.bucket, Key=self.key, VersionId=version)
            else:
                obstore.delete(store.obs, self.key)


def _conditional_writes(store: S3Core) -> bool | None:
    probe = _Probe(store)

    def put(data: bytes, mode: Any) -> bool:
        """Whether the PUT was refused as a failed precondition."""
        try:
            r = obstore.put(store.obs, probe.key, data, mode=mode, use_multipart=False)
        except Exception as exc:
            err = store._write_err(exc, probe.path)
            if isinstance(err, ConflictError):
                return True
            raise err from exc
        probe.versions.add(r.get("version"))
        return False

    try:
        put(b"first", "create")
        refused_create = put(b"second", "create")
        refused_match = put(b"third", {"e_tag": '"00000000000000000000000000000000"'})
    except AccessDeniedError:
        return None  # may not write here: cannot tell
    finally:
        probe.cleanup()
    return refused_create and refused_match


def _server_checksums(store: S3Core) -> bool | None:
    probe = _Probe(store)
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    try:
        r = store.client.put_object(
            Bucket=store.bucket, Key=probe.key, Body=b"probe", ChecksumSHA256=wrong
        )
    except Exception as exc:
        _, status = _code(exc)
        if status is not None and 400 <= status < 500 and status not in (401, 403):
            return True  # refused: it checked (BadDigest, XAmzContentChecksumMismatch...)
        if status in (401, 403):
            return None
        raise store._write_err(exc, probe.path) from exc
    probe.versions.add(r.get("VersionId"))
    probe.cleanup()
    return False


def _multipart_etags(store: S3Core) -> bool | None:
    probe = _Probe(store)
    client = store.client
    try:
        upload = client.create_multipart_upload(Bucket=store.bucket, Key=probe.key)["UploadId"]
        try:
            part = client.upload_part(
                Bucket=store.bucket, Key=probe.key, UploadId=upload, PartNumber=1, Body=b"probe"
            )
            done = client.complete_multipart_upload(
                Bucket=store.bucket,
                Key=probe.key,
                UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            )
        except Exception:
            with contextlib.suppress(Exception):
                client.abort_multipart_upload(Bucket=store.bucket, Key=probe.key, UploadId=upload)
            raise
        probe.versions.add(done.get("VersionId"))
        head = client.head_object(Bucket=store.bucket, Key=probe.key)
    except Exception as exc:
        code, status = _code(exc)
        if status in (401, 403):
            return None
        if code in _UNSUPPORTED:
            return False
        raise store._write_err(exc, probe.path) from exc
    finally:
        probe.cleanup()
    return "-" in str(head.get("ETag", ""))


def _policies(store: S3Core) -> bool | None:
    try:
        raw = store.client.get_bucket_policy(Bucket=store.bucket)["Policy"]
    except Exception as exc:
        code, status = _code(exc)
        if code == "NoSuchBucketPolicy" or status in (401, 403):
            return True  # there are policies; this bucket has none, or we may not read it
        if code in _UNSUPPORTED or status == 501:
            return False
        err = store._err(exc)
        if isinstance(err, NotFoundError):
            return None
        raise err from exc
    try:
        return isinstance(json.loads(raw), dict)
    except (TypeError, ValueError):
        return False  # answered something that is not a policy (rclone: a listing)


def _anonymous(store: S3Core) -> bool | None:
    client = store._reached().anonymous_client()
    try:
        client.list_objects_v2(Bucket=store.bucket, MaxKeys=1)
    except Exception as exc:
        code, status = _code(exc)
        if status in (401, 403, 404):
            return True  # the server judged an unsigned request: it takes them
        if code in _UNSUPPORTED or status in (400, 501):
            return False
        return None
    return True


def _presign(store: S3Core) -> bool | None:
    if store.anon:
        return None
    url = store.presign(f"{PROBE_PREFIX}missing-{uuid.uuid4().hex}", expires=60)
    # Imported here: urllib.request pulls in http.client, email and ssl (~20 ms), which every
    # command importing the store would otherwise pay at start-up.
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    except OSError:
        return None


def _versioning(store: S3Core) -> bool | None:
    try:
        return store.versioning() == "Enabled"
    except AccessDeniedError:
        return None
    except BrainbucketError as exc:
        if isinstance(exc, NotFoundError):
            return None
        cause = exc.__cause__
        code, status = _code(cause) if cause is not None else (None, None)
        if code in _UNSUPPORTED or status == 501:
            return False
        raise


_PROBES: dict[str, Callable[[S3Core], bool | None]] = {
    "conditional_writes": _conditional_writes,
    "server_checksums": _server_checksums,
    "multipart_etags": _multipart_etags,
    "policies": _policies,
    "anonymous": _anonymous,
    "presign": _presign,
}
# Probes that need credentials: an unsigned store leaves these unknown without asking.
_SIGNED = {"conditional_writes", "server_checksums", "multipart_etags", "policies", "presign"}
# A bucket's setting, which anyone may change: asked once per store, not remembered longer.
_PER_STORE: dict[str, Callable[[S3Core], bool | None]] = {"versioning": _versioning}


class ServerCapabilities(Capabilities):
    """An S3 store's capabilities, found out from its server when first asked.

    Reads like :class:`Capabilities` (``caps.conditional_writes``); each probed answer costs
    requests once per endpoint (see the module docstring), then nothing.

    Parameters
    ----------
    store
        The S3 store whose server is asked.
    config
        Where answers are remembered and for how long (default: the environment's).
    """

    def __init__(self, store: S3Core, config: Config | None = None) -> None:
        super().__init__(**{n: S3.answer(n) is True for n in NAMES})
        self._store = store
        self._config = config
        self._cache: ProbeCache | None = None
        self._own: dict[str, bool | None] = {}
        self._how: dict[str, str] = {}
        self._lock = threading.Lock()

    def _remembered(self) -> ProbeCache:
        if self._cache is None:
            config = self._config or Config()
            self._cache = ProbeCache(
                self._store.endpoint, path=config.capabilities_file, ttl=config.capability_ttl
            )
        return self._cache

    def answer(self, name: str) -> bool | None:
        if name in _PER_STORE:
            with self._lock:
                if name not in self._own:
                    self._own[name] = _PER_STORE[name](self._store)
                    self._how[name] = "asked"
                return self._own[name]
        if name not in _PROBES:
            return super().answer(name)
        with self._lock:
            if name in self._own:
                return self._own[name]  # unknown to this store: not asked twice
            cache = self._remembered()
            found = cache.lookup(name)
            if found is not None:
                self._how.setdefault(name, found[1])
                return found[0]
            value: bool | None = None
            if not (self._store.anon and name in _SIGNED):
                try:
                    value = _PROBES[name](self._store)
                except AccessDeniedError:
                    value = None  # these credentials may not probe: another's may
            self._how[name] = "probed"
            if value is None:
                # Kept by this store only: other credentials may well find out.
                self._own[name] = None
            else:
                cache.put(name, value)
            return value

    def how(self, name: str) -> str:
        return self._how.get(name, "static")

    def forget(self, name: str) -> None:
        """Ask again next time (after this process changed the answer, e.g. versioning)."""
        with self._lock:
            self._own.pop(name, None)
            self._how.pop(name, None)

    def __repr__(self) -> str:
        return f"ServerCapabilities({self._store.endpoint})"
