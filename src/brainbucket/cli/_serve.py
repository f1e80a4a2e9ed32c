"""``brainbucket serve`` and ``brainbucket quickstart``."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from .._exceptions import BrainbucketError
from ._app import app, console, emit_json, human_size

if TYPE_CHECKING:
    from ..server import LocalServer
    from ..store import S3Settings


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("brainbucket")) / "server"


def write_env_file(server: LocalServer, path: Path) -> Path:
    """Write the shell exports for this server to a private (0600) file."""
    lines = [f"export {k}={v}" for k, v in server.env().items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# brainbucket local S3 server: `source` this file\n" + "\n".join(lines) + "\n")
    return path


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
            console.print("\npoint tools at it:")
            console.print(
                f"  [bold]source {escape(str(env_file))}[/]   # sets AWS_* and BRAINBUCKET_ENDPOINT_URL"
            )
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
def _endpoint_for_quickstart(data_dir: Path):  # type: ignore[no-untyped-def]
    """Use the configured endpoint if any, else start an embedded server for the duration."""
    if os.environ.get("BRAINBUCKET_ENDPOINT_URL") and os.environ.get("AWS_ACCESS_KEY_ID"):
        yield None
        return
    from ..server import LocalServer

    server = LocalServer(data_dir)
    server.start()
    saved = {k: os.environ.get(k) for k in server.env()}
    os.environ.update(server.env())
    try:
        yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@app.command("quickstart")
def quickstart_cmd(
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir", help="Where to write the demo study (default: a temporary folder)."
        ),
    ] = None,
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket to create.")] = "demo-study",
) -> None:
    """Run the main job end to end on the embedded local S3 server."""
    from .. import open_store
    from .._demo import build_demo_study

    base = (workdir or Path(tempfile.mkdtemp(prefix="brainbucket-quickstart-"))).absolute()
    t0 = time.perf_counter()
    with _endpoint_for_quickstart(base / "server") as server:
        where = server.endpoint_url if server else os.environ["BRAINBUCKET_ENDPOINT_URL"]
        # Built once the server's address is in the environment; every step below uses it.
        # Not from the command line's global options: the quickstart brings its own server.
        from ..store import S3Settings

        settings = S3Settings.from_options()
        console.print(
            f"[bold]1.[/] S3 server: {where}"
            + (" (embedded, started for this run)" if server else "")
        )
        study = build_demo_study(base / bucket, subjects=3)
        files = [p for p in study.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        console.print(
            f"[bold]2.[/] wrote a BIDS study from real NIfTI/DWI data: {len(files)} files, {human_size(total)} in {escape(str(study))}"
        )
        store = open_store(f"s3://{bucket}", settings=settings)
        store.create_bucket()
        console.print(f"[bold]3.[/] created s3://{bucket} (versioning: {store.versioning()})")
        uploaded = _publish(study, f"s3://{bucket}", settings)
        console.print(
            f"[bold]4.[/] synced {uploaded} files up, every one verified by the server (sha256), and recorded them in the bucket's manifest"
        )
        console.print("[bold]5.[/] the bucket as a tree:")
        for level, entry in store.tree("", depth=3):
            if entry.path.startswith(".brainbucket/"):
                continue  # the manifest's own objects
            name = entry.path.rstrip("/").rsplit("/", 1)[-1]
            suffix = "/" if entry.is_dir else f"  ({human_size(entry.size)})"  # type: ignore[union-attr]
            console.print(f"      {'    ' * level}├── {escape(name)}{suffix}")
        dest = base / "download"
        got = _fetch_subject(f"s3://{bucket}", "sub-01", dest, settings)
        console.print(
            f"[bold]6.[/] downloaded sub-01 back: {got} files to {escape(str(dest))}, checksums verified"
        )
        from ..assemblies import demo as assembly_demo

        shown = assembly_demo(
            f"s3://{bucket}/assemblies", cache_dir=base / "assembly-cache", settings=settings
        )
        rec = shown.record
        console.print(
            f"[bold]7.[/] uploaded data assembly {escape(rec.identifier)} "
            f"(sha1 {rec.sha1[:12]}…, version {rec.version_id}), published s3://{bucket}/assemblies, "
            f"and loaded it back with no credentials at all: "
            + ("identical" if shown.equal and shown.loaded_anonymously else "[bold red]MISMATCH[/]")
        )
        if not (shown.equal and shown.loaded_anonymously):
            from .._exceptions import IntegrityError

            msg = "the demo assembly did not round-trip"
            raise IntegrityError(msg)
    console.print(
        f"\n[bold green]done[/] in {time.perf_counter() - t0:.1f} s. Next: `brainbucket serve` to keep a server running."
    )


def _publish(study: Path, url: str, settings: S3Settings) -> int:
    """Upload a study with the sync engine (verified, and recorded in the bucket's manifest)."""
    from ..sync import sync

    return sync(study, url, settings=settings).transferred


def _fetch_subject(url: str, subject: str, dest: Path, settings: S3Settings) -> int:
    """Download one subject with the sync engine: reads the manifest, verifies every file."""
    from ..sync import sync

    prefix = subject.rstrip("/") + "/"
    return sync(
        url, dest, prefixes=[prefix], settings=settings
    ).transferred  # reads that subject's shard only
