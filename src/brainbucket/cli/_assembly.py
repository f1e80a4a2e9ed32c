"""assembly upload|load|list|show|versions|export|import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ._app import (
    JsonOpt,
    app,
    console,
    emit_json,
    err_console,
    escape,
    human_size,
    settings_for_cli,
)
from ._render import Column, print_table, to_terminal

if TYPE_CHECKING:
    from .._url import StoreURL
    from ..assemblies import AssemblyRecord
    from ..store import Store

# Features are imported by the commands that use them: `brainbucket --help` imports every
# command module, and must not pay for what none of them runs.

assembly_app = typer.Typer(
    help="Versioned data assemblies under an identifier, with a catalog in the bucket.",
    no_args_is_help=True,
)
app.add_typer(assembly_app, name="assembly")

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="s3://bucket/prefix holding the catalog (else BRAINBUCKET_STORE).",
        show_default=False,
    ),
]


def _open(store: str | None) -> Store:
    from ..access import open_auto

    # --anon forces unsigned; otherwise unsigned exactly when no credentials are found.
    url = _store_url(store)
    return open_auto(url, settings=settings_for_cli(anon="auto", urls=[url]))


def _store_url(store: str | None) -> str | os.PathLike[str] | StoreURL | Store:
    """``--store``, else ``BRAINBUCKET_STORE`` (the command's configuration, read here)."""
    from .._config import Config
    from ..assemblies._upload import resolve_store_url

    return resolve_store_url(store, Config().store if store is None else None)


def _size(n: int) -> str:
    return f"{n} ({human_size(n)})"


def _print_record(r: AssemblyRecord) -> None:
    people = to_terminal()
    print_table(
        [Column("field", right=True, style=lambda _: "dim"), Column("value")],
        [
            ("identifier", r.identifier),
            ("version_id", r.version_id or ("(none: unversioned store)" if people else None)),
            ("sha1", r.sha1),
            ("sha256", r.sha256),
            ("size", (_size(r.size) if people else r.size) if r.size is not None else None),
            ("class", r.class_name),
            ("location", r.location),
            ("uploader", r.uploader),
            ("time", r.time),
        ],
        header=False,
    )


@assembly_app.command("upload")
def upload_cmd(
    src: Annotated[Path, typer.Argument(help="File to upload (a .nc file is loadable as xarray).")],
    identifier: Annotated[
        str, typer.Argument(help="Assembly identifier, e.g. lab.Study2024.public.")
    ],
    store: StoreOpt = None,
    class_name: Annotated[
        str | None, typer.Option("--class", help="Class name to record (BrainIO's 'class').")
    ] = None,
    stimulus_set: Annotated[
        str | None,
        typer.Option(
            "--stimulus-set", help="Stimulus set to record (BrainIO's stimulus_set_identifier)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Upload a file under IDENTIFIER; prints its sha1 and version id."""
    from ..assemblies import upload_data_assembly

    url = _store_url(store)
    record = upload_data_assembly(
        src,
        identifier,
        url,
        class_name=class_name,
        stimulus_set_identifier=stimulus_set,
        settings=settings_for_cli(anon=False, urls=[url]),
    )
    if json_out:
        emit_json(record.to_dict())
        return
    _print_record(record)


@assembly_app.command("load")
def load_cmd(
    identifier: Annotated[str, typer.Argument(help="Assembly identifier.")],
    version_id: Annotated[
        str | None, typer.Option("--version-id", help="Exact S3 version (default: the newest).")
    ] = None,
    sha1: Annotated[
        str | None, typer.Option("--sha1", help="Expected sha1; a mismatch is an error.")
    ] = None,
    store: StoreOpt = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Re-hash a cached copy before trusting it.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Fetch one verified version into the cache and print its local path."""
    from ..assemblies import fetch_assembly

    st = _open(store)
    got = fetch_assembly(identifier, version_id, sha1, st, verify=verify)
    if json_out:
        emit_json(got.to_dict())
        return
    which = "newest version" if version_id is None and sha1 is None else "version"
    source = "from the cache" if got.from_cache else "downloaded; sha1 and sha256 verified"
    # The path alone goes to stdout, so `$(brainbucket assembly load ...)` is the path.
    err_console.print(
        f"{escape(got.record.short)} ({which}, {source})", style="dim", highlight=False
    )
    typer.echo(str(got.path))


@assembly_app.command("list")
def list_cmd(
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Every identifier in the catalog, with its newest version."""

    from ..assemblies import read_catalog

    catalog = read_catalog(_open(store))
    rows = [(i, catalog.entries[i]) for i in catalog.identifiers()]
    if json_out:
        emit_json(
            [{"identifier": i, "versions": len(v), "latest": v[-1].to_dict()} for i, v in rows]
        )
        return
    if not rows:
        console.print("the catalog is empty")
        return
    print_table(
        [
            Column("identifier"),
            Column("versions", right=True),
            Column("newest version_id"),
            # A short digest for people, as git shows commits; the whole one to a pipe.
            Column("sha1", human=lambda sha1: sha1[:12]),
            Column("size", right=True, human=human_size),
            Column("uploaded"),
        ],
        [(i, len(v), v[-1].version_id, v[-1].sha1, v[-1].size, v[-1].time) for i, v in rows],
    )


@assembly_app.command("show")
def show_cmd(
    identifier: Annotated[str, typer.Argument(help="Assembly identifier.")],
    version_id: Annotated[
        str | None, typer.Option("--version-id", help="A version (default: the newest).")
    ] = None,
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The record of one version (the newest by default)."""
    from ..assemblies import read_catalog

    record = read_catalog(_open(store)).find(identifier, version_id=version_id)
    if json_out:
        emit_json(record.to_dict())
        return
    _print_record(record)


@assembly_app.command("versions")
def versions_cmd(
    identifier: Annotated[str, typer.Argument(help="Assembly identifier.")],
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Every version of IDENTIFIER, newest first."""

    from ..assemblies import read_catalog

    records = read_catalog(_open(store)).versions(identifier)[::-1]
    if json_out:
        emit_json([r.to_dict() for r in records])
        return
    print_table(
        [
            Column("version_id"),
            Column("sha1"),
            Column("size", right=True, human=human_size),
            Column("uploaded"),
            Column("uploader"),
        ],
        [(r.version_id, r.sha1, r.size, r.time, r.uploader) for r in records],
    )


@assembly_app.command("export")
def export_cmd(
    dest: Annotated[Path, typer.Argument(help="CSV file to write ('-' for standard output).")],
    store: StoreOpt = None,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="One row per version, with a version_id column.")
    ] = False,
) -> None:
    """Write the catalog as a BrainIO lookup CSV."""
    from ..assemblies import export_brainio_csv

    st = _open(store)
    if str(dest) == "-":
        typer.echo(export_brainio_csv(st, all_versions=all_versions), nl=False)
        return
    text = export_brainio_csv(st, dest, all_versions=all_versions)
    console.print(f"wrote {len(text.splitlines()) - 1} rows to {escape(str(dest))}")


@assembly_app.command("import")
def import_cmd(
    src: Annotated[Path, typer.Argument(help="BrainIO lookup CSV.")],
    store: StoreOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add the rows of a BrainIO lookup CSV to the catalog."""
    from ..access import open_auto
    from ..assemblies import import_brainio_csv

    url = _store_url(store)
    st = open_auto(url, settings=settings_for_cli(anon=False, urls=[url]))
    added = import_brainio_csv(st, src)
    if json_out:
        emit_json([r.to_dict() for r in added])
        return
    console.print(f"imported {len(added)} records into {escape(st.describe())}")
