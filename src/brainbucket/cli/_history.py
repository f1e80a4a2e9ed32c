"""log, diff: a study's versions, and what changed between two of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ._app import JsonOpt, app, emit_json, err_console, human_size
from ._render import Column, print_table

if TYPE_CHECKING:
    from ..manifest import Manifest
    from ..store import Store

# The feature is imported by the commands that use it: `brainbucket --help` must not pay for it.


def _open(url: str) -> Store:
    """The study's store; a snapshot URL is welcome here (log and diff only read manifests)."""
    from ..store import open_store
    from ._app import settings_for_cli

    return open_store(url, settings=settings_for_cli(urls=[url]))


def _manifest(store: Store) -> Manifest:
    from .._exceptions import NotFoundError
    from ..manifest import read_manifest

    m = read_manifest(store)
    if m is None:
        msg = f"{store.describe()}: the study has no manifest"
        raise NotFoundError(msg, hint="sync data into it first")
    return m


@app.command("log")
def log_cmd(
    url: Annotated[str, typer.Argument(help="The study (or a snapshot of it, s3://study@v1).")],
    number: Annotated[
        int | None, typer.Option("-n", "--max-count", min=1, help="Show at most N versions.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The study's history, newest first: each sync's time, author, files added, changed and
    removed, and the bytes it brought; tags are marked."""
    from ..snapshots._log import study_log

    store = _open(url)
    log, complete = study_log(store, limit=number)
    if json_out:
        emit_json([e.to_dict() for e in log])
    else:
        print_table(
            [
                Column("manifest", human=lambda d: d[:19]),
                Column("date", human=lambda d: (d or "?")[:19].replace("T", " ")),
                Column("author", human=lambda a: a or "?"),
                Column("added", right=True, human=_count),
                Column("changed", right=True, human=_count),
                Column("removed", right=True, human=_count),
                Column("bytes", right=True, human=lambda n: "?" if n is None else human_size(n)),
                Column("tags"),
            ],
            [
                (
                    e.root,
                    e.date,
                    e.author,
                    e.added,
                    e.changed,
                    e.removed,
                    e.bytes_added,
                    " ".join(e.tags),
                )
                for e in log
            ],
        )
    if log and not complete and not log[-1].recorded:
        err_console.print(
            f"note: history before {log[-1].root[:19]} is not recorded "
            "(that version was written by an older brainbucket)"
        )


def _count(n: int | None) -> str:
    return "?" if n is None else str(n)


@app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="The older side: s3://study@v1.0.0, or s3://study.")],
    b: Annotated[
        str | None,
        typer.Argument(
            help="The newer side: a snapshot, a study, or a local folder [default: "
            "A's study as it is now]."
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Summarise: 'subject' counts changes per subject.")
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when there are differences (as git diff).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Files added, changed and removed from A to B. Only shards whose digests differ are read.

    Exits 0 whether or not the sides differ; with --exit-code, 1 when they do.
    """
    from .._exceptions import UsageError
    from .._url import StoreURL, parse_url
    from ..snapshots._diff import diff_folder, diff_manifests

    if by not in (None, "subject"):
        msg = f"--by {by}: unknown grouping"
        raise UsageError(msg, hint="use --by subject")
    store_a = _open(a)
    old = _manifest(store_a)
    if b is None:
        here = store_a.url
        b = str(StoreURL(here.scheme, here.bucket, here.prefix))
    target = parse_url(b)
    if target.is_s3:
        d = diff_manifests(old, _manifest(_open(b)))
    else:
        from pathlib import Path

        folder = Path(target.prefix)  # a local path's absolute form
        if not folder.is_dir():
            msg = f"{b}: no such folder"
            raise UsageError(msg, hint="give a snapshot, a study URL or an existing folder")
        d = diff_folder(old, folder)
    if json_out:
        doc = d.to_dict()
        if by:
            doc["by_subject"] = d.by_subject()
        emit_json(doc)
    elif by:
        print_table(
            [Column("subject", human=lambda s: s or "(study)"), Column("added", right=True),
             Column("changed", right=True), Column("removed", right=True)],
            [(s, c["added"], c["changed"], c["removed"]) for s, c in d.by_subject().items()],
        )  # fmt: skip
    else:
        # git's --name-status form: a tab, as scripts split it (rich would expand it).
        for status, path, _, _ in d.rows():
            typer.echo(f"{status}\t{path}")
    if exit_code and d:
        raise typer.Exit(1)
