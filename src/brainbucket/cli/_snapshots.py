"""tag, tags: name a study's current manifest for good, and list the names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ._app import JsonOpt, app, console, emit_json, err_console, escape, human_size, open_for_cli
from ._render import Column, print_table

if TYPE_CHECKING:
    from ..snapshots import Tag

# The feature is imported by the commands that use it: `brainbucket --help` must not pay for it.

StudyArg = Annotated[str, typer.Argument(help="The study: s3://bucket/prefix or a folder.")]


def _row(t: Tag) -> tuple[object, ...]:
    return (t.name, t.date, t.author, t.files, t.size, t.root, t.message)


@app.command("tag")
def tag_cmd(
    url: StudyArg,
    name: Annotated[str, typer.Argument(help="The tag's name, such as v1.0.0.")],
    message: Annotated[
        str, typer.Option("--message", "-m", help="Why: what the data was used for.")
    ] = "",
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete the tag (needs --force; it is recorded).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Really delete a tag.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Name the study's current manifest, for good: `s3://study@NAME` then reads that version.

    A tag never moves and is never overwritten: creating one that exists fails (exit 7),
    also when several writers race. It copies nothing. Prints the manifest digest, the
    citable identifier (`s3://study@sha256:…` reads it too).
    """
    from ..snapshots import create_tag, delete_tag

    store = open_for_cli(url)
    if delete:
        record = delete_tag(store, name, force=force, reason=message)
        if json_out:
            emit_json(record.to_dict())
        else:
            console.print(
                f"deleted tag {escape(name)} (named {record.root}); "
                f"the deletion is recorded in .brainbucket/tags-deleted/"
            )
        return
    tag = create_tag(store, name, message=message)
    if json_out:
        emit_json(tag.to_dict())
    else:
        console.print(
            f"tagged {escape(store.describe())}@{escape(name)}: {tag.root} "
            f"({tag.files} files, {human_size(tag.size)})"
        )
    if not store.capabilities.versioning:
        # Without versions, a manifest entry can only name the bytes that are current.
        err_console.print(
            "[bold yellow]warning:[/] this store keeps no object versions: overwriting or "
            f"deleting a tagged file will break {escape(name)}; enable versioning to keep it "
            "readable"
        )


@app.command("tags")
def tags_cmd(
    url: StudyArg,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="List the records of deleted tags instead.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List the study's tags: name, date, author, files, bytes, manifest digest, message."""
    from ..snapshots import deleted_tags, list_tags

    store = open_for_cli(url)
    tags = deleted_tags(store) if deleted else list_tags(store)
    if json_out:
        emit_json([t.to_dict() for t in tags])
        return
    print_table(
        [
            Column("name"),
            Column("date", human=lambda d: d[:19].replace("T", " ")),
            Column("author"),
            Column("files", right=True),
            Column("bytes", right=True, human=human_size),
            Column("manifest", human=lambda d: d[:19]),
            Column("message"),
        ],
        [_row(t) for t in tags],
    )
