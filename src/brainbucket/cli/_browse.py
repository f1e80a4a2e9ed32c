"""Browse and move single objects: ls, tree, du, mb, cp, cat, rm."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._exceptions import IntegrityError, UsageError
from .._paths import printable  # keys are untrusted: no control characters to a terminal
from .._types import Expected, FolderInfo, ObjectInfo
from .._url import StoreURL, parse_url
from ._app import (
    JsonOpt,
    app,
    console,
    emit_json,
    err_console,
    escape,
    human_size,
    open_for_cli,
    open_object_for_cli,
    settings_for_cli,
)
from ._confirm import confirm
from ._render import Column, print_table, tree_lines

if TYPE_CHECKING:
    from ..manifest import Manifest
    from ..snapshots import SnapshotView
    from ..store import Store


def _listable(url: str) -> Store | SnapshotView:
    """The store at ``url``, or, for a snapshot URL (``s3://study@v1``), the snapshot: its
    files and sizes as tagged, from its manifest (the bucket is not listed)."""
    if not parse_url(url).ref:
        return open_for_cli(url)
    from ..snapshots import open_snapshot

    return open_snapshot(url, settings=settings_for_cli(urls=[url]))


def _when(info: ObjectInfo) -> str:
    return info.last_modified.strftime("%Y-%m-%d %H:%M:%S") if info.last_modified else "-"


def _names_no_bucket(url: str) -> bool:
    """``s3://`` alone: ``ls`` then lists the account's buckets, as ``aws s3 ls`` does."""
    return url.lower().rstrip("/") in ("s3:", "s3a:")


@app.command("ls")
def ls_cmd(
    url: Annotated[
        str | None,
        typer.Argument(
            help="s3://bucket/prefix or a local folder; s3:// or nothing lists your buckets.",
            show_default=False,
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("-r", "--recursive", help="Every object below, streamed.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List one level (folders and objects), or every object with -r; without a bucket,
    the buckets of your account.

    With --json, prints one JSON object per line.
    """
    if url is None or _names_no_bucket(url):
        from ..store import list_buckets

        for bucket in list_buckets(settings_for_cli(urls=["s3://"])):
            if json_out:
                emit_json(bucket.to_dict())
            else:
                when = bucket.created.strftime("%Y-%m-%d %H:%M:%S") if bucket.created else "-"
                sys.stdout.write(f"{when:19} {printable(bucket.name)}\n")
        return
    store = _listable(url)
    # Scripts get what the dataset's manifest knows of each object (version id, sha256); a
    # snapshot's listing is its manifest's, complete already.
    known = None
    if (
        json_out and store.url.is_s3 and not store.url.ref
    ):  # a local file has no ETag to tell it is the one recorded
        from ..manifest import find_manifest  # only --json pays for it

        known = find_manifest(store.url, settings=settings_for_cli())
    out = sys.stdout
    for entry in store.ls("", recursive=recursive):
        if json_out:
            if known is not None and isinstance(entry, ObjectInfo):
                entry = _as_recorded(entry, *known)
            emit_json(entry.to_dict())
        elif isinstance(entry, FolderInfo):
            out.write(f"{'':19} {'PRE':>12}  {printable(entry.path)}\n")
        else:
            out.write(f"{_when(entry):19} {entry.size:>12}  {printable(entry.path)}\n")


def _as_recorded(info: ObjectInfo, manifest: Manifest, below: str) -> ObjectInfo:
    """``info`` completed from the manifest; ``below`` is where the listing starts in it."""
    full = manifest.complete(info, below + info.path)
    if full is info and below.rstrip("/").rsplit("/", 1)[-1] == info.path:
        # The URL may name this very object (`ls s3://b/sub-01/T1w.nii.gz`), listed by name.
        full = manifest.complete(info, below.rstrip("/"))
    return full


@app.command("tree")
def tree_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a local folder.")],
    depth: Annotated[int, typer.Option("--depth", "-d", min=1, help="Folder levels to show.")] = 2,
    json_out: JsonOpt = False,
) -> None:
    """Show a bucket or folder (or a snapshot, s3://study@v1) as a tree, down to --depth
    levels."""
    store = _listable(url)
    if json_out:
        emit_json([{"level": lvl, **e.to_dict()} for lvl, e in store.tree("", depth=depth)])
        return
    console.print(escape(store.describe()))
    for branch, entry in tree_lines(store, depth):
        name = printable(entry.path.rstrip("/").rsplit("/", 1)[-1])
        if isinstance(entry, FolderInfo):
            console.print(f"{branch}[bold blue]{escape(name)}/[/]")
        else:
            console.print(f"{branch}{escape(name)} [dim]({human_size(entry.size)})[/]")


@app.command("du")
def du_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a local folder.")],
    json_out: JsonOpt = False,
) -> None:
    """Bytes and object count per child folder, and the total (of a snapshot, s3://study@v1,
    as tagged)."""
    store = _listable(url)
    rows, total = store.du("")
    if json_out:
        emit_json({"children": [r.to_dict() for r in rows], "total": total.to_dict()})
        return
    print_table(
        [
            Column("path"),
            Column("objects", right=True),
            Column("bytes", right=True),
            Column("size", right=True, human=human_size, piped=False),
        ],
        [(r.path, r.count, r.size, r.size) for r in rows],
        footer=("total", total.count, total.size, total.size),
    )


@app.command("mb")
def mb_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket")],
    no_versioning: Annotated[
        bool, typer.Option("--no-versioning", help="Do not turn object versioning on.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create a bucket, with object versioning on. An existing bucket of yours is fine.

    On a server without object versions the bucket is made all the same, versioning is
    reported as Unavailable, and a warning says what that costs.
    """
    parsed = parse_url(url)
    if not parsed.is_s3 or parsed.prefix:
        msg = f"mb takes a bucket URL (s3://bucket), not {url!r}"
        raise UsageError(
            msg,
            hint=f"create the bucket with `brainbucket mb s3://{parsed.bucket}`; prefixes need no creating",
        )
    store = open_for_cli(url, anon=False)
    created = store.create_bucket(versioning=False)
    versioning = store.versioning() or "Disabled"
    if not no_versioning and versioning != "Enabled":
        try:
            store.set_versioning(True)
            versioning = "Enabled"
        except UsageError as exc:
            # The server has no versions: the bucket is made and usable all the same; say
            # what is missing rather than fail a command that did its main job.
            versioning = "Unavailable"
            err_console.print(f"[bold yellow]warning:[/] {escape(exc.message)}")
            if exc.hint:
                err_console.print(f"[dim]hint:[/] {escape(exc.hint)}")
    if json_out:
        emit_json({"bucket": parsed.bucket, "created": created, "versioning": versioning})
    else:
        verb = "created" if created else "already exists (yours)"
        console.print(f"s3://{escape(parsed.bucket)} {verb}; versioning: {versioning}")


def _is_dir_target(dst: str) -> bool:
    parsed = parse_url(dst)  # a mistyped URL is refused as the user wrote it
    if dst.endswith("/"):
        return True
    return not parsed.is_s3 and os.path.isdir(parsed.prefix)


_STDIO = "-"


@app.command("cp")
def cp_cmd(
    src: Annotated[
        str,
        typer.Argument(help="Source object: s3://bucket/key, a local file, or - for stdin."),
    ],
    dst: Annotated[
        str,
        typer.Argument(
            help="Destination: s3://bucket/key, a local path, a folder ending in /, or - for "
            "stdout (checked once written: if the check fails, exit 8, and the bytes already "
            "written cannot be taken back)."
        ),
    ],
    json_out: JsonOpt = False,
) -> None:
    """Copy one object, in either direction, verified end to end.

    `cp s3://bucket/key -` writes the object to standard output as it arrives and checks its
    size and digest at the end; `cp - s3://bucket/key` reads standard input into a temporary
    file, hashing it, then uploads it. A local file named - is ./-.
    """
    if src == _STDIO and dst == _STDIO:
        msg = "cp - - copies nothing: name an object on one side"
        raise UsageError(msg, hint="e.g. `brainbucket cp - s3://BUCKET/KEY`")
    if dst == _STDIO:
        _cp_to_stdout(src, json_out)
        return
    if src == _STDIO:
        out = _cp_from_stdin(dst)
    else:
        dst, out = _cp_object(src, dst)
    if json_out:
        emit_json({"source": src, "destination": dst, **out})
    else:
        console.print(f"{escape(src)} → {escape(dst)} ({human_size(out['size'])}, verified)")


def _snapshot_file(url: str) -> SnapshotView | None:
    """The snapshot holding the file ``url`` names (``s3://study/sub-01/a.nii.gz@v1``), or
    ``None`` for any other URL."""
    if not parse_url(url).ref:
        return None
    from ..snapshots import open_snapshot

    return open_snapshot(url, settings=settings_for_cli(urls=[url]))


def _cp_snapshot_file(view: SnapshotView, dst: str) -> tuple[str, dict[str, Any]]:
    """Copy one file of a snapshot: the version its entry names, checked against its sha256."""
    name = view.below.rsplit("/", 1)[-1]
    view.entry()  # a path the snapshot does not hold fails here, before anything is made
    if _is_dir_target(dst):
        dst = dst.rstrip("/") + "/" + name
    dst_store, dst_path = open_object_for_cli(dst, anon=False)
    target = dst_store.local_path(dst_path)
    if target is not None:
        digest = view.download("", target)
        return dst, {"path": str(target), "size": target.stat().st_size, "sha256": digest}
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tmpfile = Path(tmp) / "object"
        digest = view.download("", tmpfile)
        return dst, dst_store.upload(tmpfile, dst_path, sha256=digest).to_dict()


def _cp_object(src: str, dst: str) -> tuple[str, dict[str, Any]]:
    """Copy a named object; the destination as resolved (a folder gets the source's name)."""
    view = _snapshot_file(src)
    if view is not None:
        return _cp_snapshot_file(view, dst)
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
        return dst, dst_store.upload(local, dst_path).to_dict()
    expected = _expected_of(src)
    if target is not None:
        digest = src_store.download(src_path, target, expected)
        return dst, {"path": str(target), "size": target.stat().st_size, "sha256": digest}
    # S3 → S3: stream through a verified temporary file
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tmpfile = Path(tmp) / "object"
        digest = src_store.download(src_path, tmpfile, expected)
        return dst, dst_store.upload(tmpfile, dst_path, sha256=digest).to_dict()


def _expected_of(url: str) -> Expected | None:
    """What a copy of one object must match, when its dataset's manifest lists it: the
    version it records, with that version's size and digests (as every read of a dataset
    file is). ``None`` otherwise: the object is then checked by its own size and ETag."""
    parsed = parse_url(url)
    if not parsed.is_s3:
        return None
    from ..manifest import find_manifest

    folder, _, name = parsed.prefix.rpartition("/")
    settings = settings_for_cli()
    found = find_manifest(StoreURL("s3", parsed.bucket, folder), settings=settings)
    entry = found[0].get(found[1] + name) if found is not None else None
    if entry is None:
        return None
    return Expected.of(
        size=entry.size, sha256=entry.sha256, blake3=entry.blake3, version_id=entry.version_id
    )


def _cp_to_stdout(src: str, json_out: bool) -> None:
    if json_out:
        msg = "--json cannot share standard output with the object's bytes"
        raise UsageError(msg, hint="drop --json, or copy to a file")
    view = _snapshot_file(src)
    if view is not None:
        view.read_to("", sys.stdout.buffer)  # checked at the end, as any object (exit 8)
        return
    store, path = open_object_for_cli(src)
    if not path or path.endswith("/"):
        msg = f"cp copies one object; {src!r} names a folder (use `brainbucket sync`)"
        raise UsageError(msg)
    expected = _expected_of(src)
    # Bytes go out as they arrive; the check at the end can only report, not undo (exit 8).
    store.read_to(path, sys.stdout.buffer, expected)


def _cp_from_stdin(dst: str) -> dict[str, Any]:
    """Spool standard input to a temporary file, hashing it, then upload the file: the
    upload needs its size up front (and resends parts on retry), which a pipe cannot give."""
    if _is_dir_target(dst):
        msg = f"standard input has no name to give the object in {dst!r}"
        raise UsageError(msg, hint=f"name it: `brainbucket cp - {dst.rstrip('/')}/NAME`")
    store, path = open_object_for_cli(dst, anon=False)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="brainbucket-stdin-") as tmp:
        spooled = Path(tmp) / "stdin"
        from .._hashing import CHUNK, ContentHasher

        hasher = ContentHasher()
        stdin = sys.stdin.buffer
        with open(spooled, "wb") as f:
            while chunk := stdin.read(CHUNK):
                hasher.update(chunk)
                f.write(chunk)
        result = store.upload(spooled, path, sha256=hasher.sha256)
    if result.sha256 != hasher.sha256:
        msg = f"{store.describe(path)}: the bytes uploaded are not the bytes read from stdin"
        raise IntegrityError(msg, hint="copy it again")
    return result.to_dict()


@app.command("cat")
def cat_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/key or a local file.")],
    version_id: Annotated[
        str | None, typer.Option("--version-id", help="A specific object version.")
    ] = None,
) -> None:
    """Write an object's bytes to standard output.

    A file of a snapshot (s3://study/sub-01/a.nii.gz@v1) is read at the version its manifest
    entry names and checked against its sha256 at the end (exit 8 if it differs).
    """
    view = _snapshot_file(url)
    if view is not None:
        if version_id is not None:
            msg = (
                f"{url} names a snapshot's file, which has one version: --version-id does not apply"
            )
            raise UsageError(msg, hint="drop --version-id, or drop the @ reference")
        view.read_to("", sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
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
        confirm(f"Delete {len(paths)} objects under {url}?", nothing="nothing removed")
    failed = store.delete_many(paths)
    if failed:
        from .._exceptions import PartialFailureError

        msg = f"{len(failed)} of {len(paths)} objects could not be deleted (first: {failed[0][0]}: {failed[0][1]})"
        raise PartialFailureError(msg, failures=failed)
    if json_out:
        emit_json({"deleted": paths, "count": len(paths)})
    else:
        console.print(f"deleted {len(paths)} objects under {escape(url)}")
