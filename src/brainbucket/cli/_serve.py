"""``brainbucket serve`` and ``brainbucket quickstart``."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from .._exceptions import BrainbucketError, IntegrityError, UsageError
from ._app import app, console, emit_json, human_size
from ._render import tree_lines

if TYPE_CHECKING:
    from .._config import Config
    from ..server import LocalServer
    from ..store import S3Settings
    from ..sync import SyncResult


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("brainbucket")) / "server"


def write_env_file(server: LocalServer, path: Path) -> Path:
    """Write the shell exports for this server to a private (0600) file.

    The file says what it sets and how to undo it: a user who sources it and forgets would
    otherwise send every later AWS command of that shell to this server.
    """
    env = server.env()
    lines = [
        f"# brainbucket: the local S3 server at {server.endpoint_url}. `source` this file to",
        "# point every AWS tool and brainbucket command of that shell (only) at it. It sets",
        f"# {' '.join(env)}.",
        "# To undo it:",
        f"#   {unset_command(server)}",
        *(f"export {k}={v}" for k, v in env.items()),
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def unset_command(server: LocalServer) -> str:
    """The shell command that undoes sourcing the env file."""
    return "unset " + " ".join(server.env())


@app.command("serve")
def serve_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="Data folder (kept across restarts).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="S3 port on 127.0.0.1 (default: a free one)."
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the endpoint as JSON, then serve.")
    ] = False,
) -> None:
    """Run an S3-compatible server on 127.0.0.1 (authentication enforced) until Ctrl-C."""
    data_dir = (data or _default_data_dir()).absolute()
    from ..server import LocalServer  # here: --help must not load the server

    server = LocalServer(data_dir, port=port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    try:
        env_file = write_env_file(server, data_dir / "env.sh")
        if json_out:
            emit_json(
                {
                    "endpoint_url": server.endpoint_url,
                    "data": str(data_dir),
                    "env_file": str(env_file),
                    "env_sets": list(server.env()),
                    "env_unset": unset_command(server),
                    "access_key_id": server.admin.access_key,
                }
            )
        else:
            console.print(
                f"[bold green]S3 server running[/] at {server.endpoint_url}  (data: {escape(str(data_dir))})"
            )
            console.print(
                f"credentials: access key [bold]{server.admin.access_key}[/]; secret in {escape(str(data_dir / 'identities.json'))}"
            )
            console.print(
                "\npoint a shell at it (nothing is set until you source the file, and then "
                "only in that shell):"
            )
            console.print(f"  [bold]source {escape(str(env_file))}[/]")
            console.print(f"    sets {', '.join(server.env())}:")
            console.print(
                "    every AWS tool and brainbucket command of that shell then talks to this "
                "server, not to AWS. To undo it (or close that shell):"
            )
            console.print(f"  [bold]{unset_command(server)}[/]")
            console.print("\nthen, in that shell:")
            console.print("  brainbucket mb s3://study && brainbucket ls s3://study")
            console.print(f"  aws --endpoint-url {server.endpoint_url} s3 ls")
            console.print(
                f"  any AWS SDK: endpoint_url='{server.endpoint_url}', keys from the environment"
            )
            console.print("\nCtrl-C stops it.")
        while not stop.is_set() and server.running:
            stop.wait(0.5)
        if not server.running and not stop.is_set():
            msg = "the S3 server stopped unexpectedly"
            raise BrainbucketError(msg, hint=f"see {data_dir / 'server.log'}")
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if not json_out:
            console.print("server stopped")


@contextmanager
def _endpoint_for_quickstart(data_dir: Path) -> Iterator[tuple[S3Settings, LocalServer | None]]:
    """The configured endpoint if any, else an embedded server for the duration.

    The embedded server's address and keys go into the settings value handed to every step,
    never into the environment: nothing is left set for the user's later commands, nor
    changed under other threads of a program that runs the quickstart.
    """
    from ..store import S3Settings

    if os.environ.get("BRAINBUCKET_ENDPOINT_URL") and os.environ.get("AWS_ACCESS_KEY_ID"):
        # Not from the command line's global options: the quickstart brings its own server
        # unless the environment names one.
        yield S3Settings.from_options(), None
        return
    from ..server import LocalServer

    server = LocalServer(data_dir)
    server.start()
    try:
        admin = server.admin
        yield (
            S3Settings(
                endpoint_url=server.endpoint_url,
                region="us-east-1",
                access_key=admin.access_key,
                secret_key=admin.secret_key,
            ),
            server,
        )
    finally:
        server.stop()


def _buckets_line(made: dict[str, bool], versioning: str | None) -> str:
    """Step 3 in words: which buckets this run created and which were there already.

    Examples
    --------
    >>> _buckets_line({"s3://a": True, "s3://b": False}, "Enabled")
    'created s3://a; s3://b already existed, using it (versioning: Enabled)'
    """
    created = [url for url, new in made.items() if new]
    existing = [url for url, new in made.items() if not new]
    parts = []
    if created:
        parts.append("created " + " and ".join(created))
    if existing:
        them = "it" if len(existing) == 1 else "them"
        parts.append(" and ".join(existing) + f" already existed, using {them}")
    return "; ".join(parts) + f" (versioning: {versioning})"


@app.command("quickstart")
def quickstart_cmd(
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            help="Keep the demo study, the download and the embedded server's data here "
            "(default: a temporary folder, removed at the end).",
        ),
    ] = None,
    bucket: Annotated[
        str,
        typer.Option(
            "--bucket", help="Bucket for the demo study (its assembly goes to BUCKET-assemblies)."
        ),
    ] = "demo-study",
) -> None:
    """Run the main job end to end: on the configured endpoint if there is one
    (BRAINBUCKET_ENDPOINT_URL and AWS keys), else on an embedded server started for the run."""
    base = (workdir or Path(tempfile.mkdtemp(prefix="brainbucket-quickstart-"))).absolute()
    try:
        _quickstart(base, bucket)
    finally:
        if workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    if workdir is None:
        console.print(f"removed the temporary folder {escape(str(base))} (--workdir DIR keeps it)")


def _quickstart(base: Path, bucket: str) -> None:
    from .. import open_store
    from .._demo import build_demo_study
    from ..assemblies import demo as assembly_demo

    t0 = time.perf_counter()
    with _endpoint_for_quickstart(base / "server") as (settings, server):
        from .._config import Config

        # An embedded server is gone after this run: keep the state the sync engine and
        # the assembly cache write about it with the rest of the run's files.
        config = Config(cache_dir=base / "cache") if server else Config()
        console.print(
            f"[bold]1.[/] S3 server: {settings.endpoint_url}"
            + (" (embedded, started for this run)" if server else "")
        )
        study = build_demo_study(base / bucket, subjects=3)
        files = [p for p in study.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        console.print(
            f"[bold]2.[/] wrote a BIDS study from real NIfTI images: {len(files)} files, {human_size(total)} in {escape(str(study))}"
        )
        study_url = f"s3://{bucket}"
        # A bucket of its own for the assembly: inside the study's bucket, the assembly and
        # its catalog would be objects the study's manifest does not list.
        assemblies = f"s3://{bucket}-assemblies"
        store = open_store(study_url, settings=settings)
        made: dict[str, bool] = {}
        versioning = "Enabled"
        for url in (study_url, assemblies):
            bucket_store = open_store(url, settings=settings)
            made[url] = bucket_store.create_bucket(versioning=False)
            try:
                bucket_store.set_versioning(True)
            except UsageError:
                # A server without versions: the demo runs all the same (assemblies are
                # then kept apart by sha1); step 3 says so.
                versioning = (
                    "unavailable on this server, so overwritten files cannot be brought "
                    "back and assemblies are kept apart by sha1"
                )
        console.print(f"[bold]3.[/] {_buckets_line(made, versioning)}")
        up = _sync(study, study_url, settings, config)
        # Said only where the server was seen to refuse a wrong checksum (some accept it).
        checked = (
            "each checked by the server on arrival against its CRC64NVME checksum"
            if store.capabilities.server_checksums
            else "not checked by this server on arrival (it ignores upload checksums: "
            f"`brainbucket verify {study_url} --deep` re-reads them)"
        )
        console.print(
            f"[bold]4.[/] synced the study up: {up.transferred} files sent ({up.unchanged} already there), "
            f"{checked}, and every file's sha256 recorded in the bucket's manifest"
        )
        console.print("[bold]5.[/] the bucket as a tree:")
        # The manifest's own objects are left out: the tree shows the study.
        for branch, entry in tree_lines(
            store, 3, hide=lambda e: e.path.startswith(".brainbucket/")
        ):
            name = entry.path.rstrip("/").rsplit("/", 1)[-1]
            suffix = "/" if entry.is_dir else f"  ({human_size(entry.size)})"  # type: ignore[union-attr]
            console.print(f"      {branch}{escape(name)}{suffix}")
        dest = base / "download"
        # Only sub-01's shard of the manifest is read.
        down = _sync(study_url, dest, settings, config, prefixes=["sub-01/"])
        console.print(
            f"[bold]6.[/] downloaded sub-01 back: {down.transferred} files to {escape(str(dest))} "
            f"({down.unchanged} already there), each checked against the manifest"
        )
        shown = assembly_demo(
            assemblies, cache_dir=base / "assembly-cache", settings=settings, config=config
        )
        rec = shown.record
        version = f"version {rec.version_id}" if rec.version_id else "no version id"
        if shown.loaded_anonymously:
            how = "published it, and loaded it back with no credentials at all"
        else:
            how = (
                "did not publish it (this server does not support bucket policies), and "
                "loaded it back with the same credentials"
            )
        console.print(
            f"[bold]7.[/] uploaded data assembly {escape(rec.identifier)} "
            f"(sha1 {rec.sha1[:12]}…, {version}) to {assemblies}, {how}: "
            + ("identical" if shown.equal else "[bold red]MISMATCH[/]")
        )
        if not shown.equal:
            msg = "the demo assembly did not round-trip"
            raise IntegrityError(msg)
    console.print(f"\n[bold green]done[/] in {time.perf_counter() - t0:.1f} s.")
    if server:
        console.print(
            "The embedded server has stopped. To keep the demo for the README's examples, "
            "run `brainbucket serve` and this quickstart in a shell pointed at it."
        )


def _sync(
    src: str | Path,
    dst: str | Path,
    settings: S3Settings,
    config: Config,
    prefixes: Sequence[str] = (),
) -> SyncResult:
    """Sync with the engine a user runs: verified, and recorded in the bucket's manifest."""
    from ..sync import sync

    return sync(src, dst, prefixes=prefixes, settings=settings, config=config)
