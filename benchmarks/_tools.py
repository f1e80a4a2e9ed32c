"""The command lines of the compared tools, all pointed at the same local server.

Each tool runs as one child process with a clean environment: the server's credentials, no
user configuration files, its own scratch folder. Settings are each tool's defaults except
where noted in ``PEER_FLAGS`` (the knobs each tool's documentation suggests for many files).
Peers leave out brainbucket's ``.brainbucket/`` manifest folder, so every tool moves exactly
the workload's files. brainbucket can run twice, from this checkout and from another
revision's exported source (``--baseline``): same command line, another ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# rclone's defaults (4 transfers, 8 checkers) are documented as meant to be raised for many
# small files; the other tools' defaults are already highly parallel (s5cmd: 256 workers) or
# are what their users get (aws-cli: 10 concurrent requests).
PEER_FLAGS: dict[str, list[str]] = {
    "aws": [],
    "s5cmd": [],
    "rclone": ["--transfers", "32", "--checkers", "32"],
    "brainbucket": [],
}


@dataclass
class Tool:
    """One client under test.

    ``name`` is what the report calls it; ``kind`` is which client it runs (one of
    ``PEER_FLAGS``; default ``name``). A ``brainbucket`` kind runs the package found in
    ``src`` (default: this checkout's ``src``), e.g. ``brainbucket@e138c57`` from an exported
    revision.
    """

    name: str
    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    scratch: Path = field(default_factory=Path)
    kind: str = ""
    src: Path | None = None

    def __post_init__(self) -> None:
        self.kind = self.kind or self.name

    @property
    def label(self) -> str:
        """``name`` as it may appear in a bucket name or a folder name."""
        return self.name.lower().replace("@", "-")

    @property
    def src_dir(self) -> Path:
        """The folder holding the ``brainbucket`` package this tool runs."""
        return self.src or REPO / "src"

    # -- environment ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        home = self.scratch / "home"
        home.mkdir(parents=True, exist_ok=True)
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "BRAINBUCKET_", "RCLONE_", "S3_"))
        }
        base.update(
            HOME=str(home),
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
            AWS_CONFIG_FILE=str(home / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        if self.kind == "rclone":
            cfg = home / "rclone.conf"
            cfg.touch()
            prefix = "RCLONE_CONFIG_BENCH_"
            base.update(
                {
                    "RCLONE_CONFIG": str(cfg),
                    prefix + "TYPE": "s3",
                    prefix + "PROVIDER": "Other",
                    prefix + "ENDPOINT": self.endpoint,
                    prefix + "ACCESS_KEY_ID": self.access_key,
                    prefix + "SECRET_ACCESS_KEY": self.secret_key,
                    prefix + "REGION": "us-east-1",
                    prefix + "FORCE_PATH_STYLE": "true",
                }
            )
        if self.kind == "brainbucket":
            base["BRAINBUCKET_ENDPOINT_URL"] = self.endpoint
            base["BRAINBUCKET_CACHE"] = str(self.scratch / "bbcache")
            # This tool's source first; this checkout's (on the harness's own PYTHONPATH)
            # left out, so a baseline never imports a module of the code under test.
            own = (REPO / "src").resolve()
            inherited = [
                p
                for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                if p and Path(p).resolve() != own
            ]
            base["PYTHONPATH"] = os.pathsep.join([str(self.src_dir), *inherited])
        return base

    def reset_state(self) -> None:
        """Forget client-side state (brainbucket's hash cache) so a run starts cold."""
        shutil.rmtree(self.scratch / "bbcache", ignore_errors=True)

    # -- commands ---------------------------------------------------------------------------

    def _exe(self, name: str) -> str:
        cand = BIN / name
        return str(cand) if cand.exists() else (shutil.which(name) or name)

    def upload(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return self._sync(str(src), (bucket, prefix), upload=True)

    def download(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        return self._sync(str(dest), (bucket, prefix), upload=False)

    def _sync(self, local: str, remote: tuple[str, str], *, upload: bool) -> list[str]:
        bucket, prefix = remote
        where = f"{bucket}/{prefix}" if prefix else bucket
        flags = PEER_FLAGS[self.kind]
        if self.kind == "aws":
            url = f"s3://{where}/"
            pair = [local, url] if upload else [url, local]
            return [
                self._exe("aws"), "s3", "sync", *pair, "--endpoint-url", self.endpoint,
                "--only-show-errors", "--no-progress", "--exclude", ".brainbucket/*", *flags,
            ]  # fmt: skip
        if self.kind == "s5cmd":
            pair = (
                [local.rstrip("/") + "/", f"s3://{where}/"]
                if upload
                else [f"s3://{where}/*", local.rstrip("/") + "/"]
            )
            return [
                self._exe("s5cmd"), "--endpoint-url", self.endpoint, "--log", "error",
                "sync", "--exclude", ".brainbucket/*", *flags, *pair,
            ]  # fmt: skip
        if self.kind == "rclone":
            url = f"bench:{where}"
            pair = [local, url] if upload else [url, local]
            return [
                self._exe("rclone"), "sync", *pair, "-q", "--exclude", "/.brainbucket/**",
                "--s3-no-check-bucket", *flags,
            ]  # fmt: skip
        if self.kind == "brainbucket":
            url = f"s3://{where}"
            pair = [local, url] if upload else [url, local]
            return [sys.executable, "-m", "brainbucket", "sync", *pair, "--quiet", *flags]
        msg = f"unknown tool {self.kind!r}"
        raise ValueError(msg)


def available(kind: str, env: dict[str, str]) -> str | None:
    """``None`` if a tool of this kind can run here (with ``env``), else why not."""
    probe = {
        "aws": [str(BIN / "aws"), "--version"],
        "s5cmd": [str(BIN / "s5cmd"), "version"],
        "rclone": [str(BIN / "rclone"), "version"],
        "brainbucket": [sys.executable, "-m", "brainbucket", "sync", "--help"],
    }[kind]
    try:
        r = subprocess.run(probe, env=env, capture_output=True, timeout=60, check=False)
    except OSError as exc:
        return str(exc)
    if r.returncode != 0:
        lines = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit {r.returncode}"
    return None
