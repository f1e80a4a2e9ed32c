"""Browse and move single objects: ls, tree, du, mb, cp, cat, rm."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .._exceptions import UsageError
from .._paths import printable  # keys are untrusted: no control characters to a terminal
from .._types import FolderInfo, ObjectInfo
from .._url import parse_url
from ._app import (
    JsonOpt,
    app,
    console,
    emit_json,
    human_size,
    open_for_cli,
    open_object_for_cli,
)


def _when(info: ObjectInfo) -> str:
    return info.last_modified.strftime("%Y-%m-%d %H:%M:%S") if info.last_modified else "-"


@app.command("ls")
def ls_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a local folder.")],
    recursive: Annotated[
        bool, typer.Option("-r", "--recursive", help="Every object below, streamed.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List one level (folders and objects), or every object with -r.

    With --json, prints one JSON object per line.
    """
    store = open_for_cli(url)
    out = sys.stdout
    for entry in store.ls("", recursive=recursive):
        if json_out:
            emit_json(entry.to_dict())
        elif isinstance(entry, FolderInfo):
            out.write(f"{'':19} {'PRE':>12}  {printable(entry.path)}\n")
        else:
            out.write(f"{_when(entry):19} {entry.size:>12}  {printable(entry.path)}\n")


@app.command("tree")
def tree_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a local folder.")],
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, help="Folder levels to show.")] = 2,
    json_out: JsonOpt = False,
) -> None:
    """Show a bucket or folder as a tree, down to --depth levels."""
    store = open_for_cli(url)
    if json_out:
        emit_json([{"level": lvl, **e.to_dict()} for lvl, e in store.tree("", depth=depth)])
        return
    console.print(escape(store.describe()))
    for level, entry in store.tree("", depth=depth):
        name = printable(entry.path.rstrip("/").rsplit("/", 1)[-1])
        indent = "    " * level
        if isinstance(entry, FolderInfo):
            console.print(f"{indent}├── [bold blue]{escape(name)}/[/]")
        else:
            console.print(f"{indent}├── {escape(name)} [dim]({human_size(entry.size)})[/]")


@app.command("du")
def du_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a local folder.")],
    json_out: JsonOpt = False,
) -> None:
    """Bytes and object count per child folder, and the total."""
    store = open_for_cli(url)
    rows, total = store.du("")
    if json_out:
        emit_json({"children": [r.to_dict() for r in rows], "total": total.to_dict()})
        return
    table = Table(show_edge=False, box=None)
    table.add_column("path")
    table.add_column("objects", justify="right")
    table.add_column("bytes", justify="right")
    table.add_column("size", justify="right")
    for r in rows:
        table.add_row(escape(printable(r.path)), str(r.count), str(r.size), human_size(r.size))
    table.add_row("[bold]total[/]", str(total.count), str(total.size), human_size(total.size))
    console.print(table)


@app.command("mb")
def mb_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket")],
    no_versioning: Annotated[
        bool, typer.Option("--no-versioning", help="Do not turn object versioning on.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create a bucket, with object versioning on. An existing bucket of yours is fine."""
    parsed = parse_url(url)
    if not parsed.is_s3 or parsed.prefix:
        msg = f"mb takes a bucket URL (s3://bucket), not {url!r}"
        raise UsageError(
            msg,
            hint=f"create the bucket with `brainbucket mb s3://{parsed.bucket}`; prefixes need no creating",
        )
    store = open_for_cli(url, anon=False)
    created = store.create_bucket(versioning=not no_versioning)
    versioning = store.versioning() or "Disabled"
    if json_out:
        emit_json({"bucket": parsed.bucket, "created": created, "versioning": versioning})
    else:
        verb = "created" if created else "already exists (yours)"
        console.print(f"s3://{escape(parsed.bucket)} {verb}; versioning: {versioning}")


def _is_dir_target(dst: str) -> bool:
    if dst.endswith("/"):
        return True
    parsed = parse_url(dst)
    return not parsed.is_s3 and os.path.isdir(parsed.prefix)


@app.command("cp")
def cp_cmd(
    src: Annotated[str, typer.Argument(help="Source object: s3://bucket/key or a local file.")],
    dst: Annotated[
        str,
        typer.Argument(help="Destination: s3://bucket/key, a local path, or a folder ending in /."),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Copy one object, in either direction, verified end to end."""
    src_store, src_path = open_object_for_cli(src)
    name = src_path.rsplit("/", 1)[-1]
    if not name:
        msg = f"cp copies one object; {src!r} names a folder (use `brainbucket sync`)"
        raise UsageError(msg)
    if _is_dir_target(dst):
        dst = dst.rstrip("/") + "/" + name
    dst_store, dst_path = open_object_for_cli(dst, anon=False)
    local = src_store.local_path(src_path)
    target = dst_store.local_path(dst_path)
    if local is not None:
        if local.is_dir():
            msg = f"{src} is a folder; cp copies one file (use `brainbucket sync`)"
            raise UsageError(msg)
        result = dst_store.upload(local, dst_path)
        out = result.to_dict()
    elif target is not None:
        digest = src_store.download(src_path, target)
        out = {"path": str(target), "size": target.stat().st_size, "sha256": digest}
    else:  # S3 → S3: stream through a verified temporary file
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            tmpfile = Path(tmp) / "object"
            digest = src_store.download(src_path, tmpfile)
            result = dst_store.upload(tmpfile, dst_path, sha256=digest)
            out = result.to_dict()
    if json_out:
        emit_json({"source": src, "destination": dst, **out})
    else:
        console.print(f"{escape(src)} → {escape(dst)} ({human_size(out['size'])}, verified)")


@app.command("cat")
def cat_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/key or a local file.")],
    version_id: Annotated[
        str | None, typer.Option("--version-id", help="A specific object version.")
    ] = None,
) -> None:
    """Write an object's bytes to standard output."""
    store, path = open_object_for_cli(url)
    out = sys.stdout.buffer
    for chunk in store.iter_bytes(path, version_id=version_id):
        out.write(chunk)
    out.flush()


@app.command("rm")
def rm_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/key, or a prefix with -r.")],
    recursive: Annotated[
        bool, typer.Option("-r", "--recursive", help="Delete every object under the prefix.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete one object, or everything under a prefix with -r (asks first)."""
    if not recursive:
        store, path = open_object_for_cli(url, anon=False)
        info = store.info(path)  # a clear error if it is not there
        store.delete(path)
        if json_out:
            emit_json({"deleted": [info.path], "count": 1})
        else:
            console.print(f"deleted {escape(url)}")
        return
    store = open_for_cli(url, anon=False)
    paths = [o.path for o in store.walk("")]
    if not paths:
        if json_out:
            emit_json({"deleted": [], "count": 0})
        else:
            console.print(f"nothing under {escape(url)}")
        return
    if not yes:
        if not sys.stdin.isatty():
            msg = f"refusing to delete {len(paths)} objects under {url} without confirmation"
            raise UsageError(msg, hint="pass --yes to delete without asking")
        typer.confirm(f"Delete {len(paths)} objects under {url}?", abort=True)
    failed = store.delete_many(paths)
    if failed:
        from .._exceptions import PartialFailureError

        msg = f"{len(failed)} of {len(paths)} objects could not be deleted (first: {failed[0][0]}: {failed[0][1]})"
        raise PartialFailureError(msg, failures=failed)
    if json_out:
        emit_json({"deleted": paths, "count": len(paths)})
    else:
        console.print(f"deleted {len(paths)} objects under {escape(url)}")
