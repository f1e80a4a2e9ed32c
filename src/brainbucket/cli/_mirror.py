"""get and mirror status|verify|gc."""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from .._exceptions import UsageError
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
from ._progress import ProgressBar
from ._render import Column, print_table, to_terminal
from ._select import SelectionCommand, bids_options

mirror_app = typer.Typer(help="Inspect and maintain the local mirror cache.", no_args_is_help=True)
app.add_typer(mirror_app, name="mirror")

CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Folder of the local cache (else BRAINBUCKET_CACHE, else the user cache folder).",
        show_default=False,
    ),
]
OfflineOpt = Annotated[
    bool, typer.Option("--offline", help="Answer from the cache only; never contact the server.")
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar; the paths and errors only.")
]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``50G`` → bytes (K, M, G, T, P are powers of 1024; ``GB``/``GiB`` mean the same).

    Examples
    --------
    >>> parse_size("50G"), parse_size("1.5k"), parse_size("100")
    (53687091200, 1536, 100)
    """
    m = _SIZE.match(text)
    if not m:
        msg = f"not a size: {text!r}"
        raise UsageError(msg, hint="use a number with an optional unit: 500M, 50G, 2T")
    power = " kmgtp".index(m.group(2).lower() or " ")
    return int(float(m.group(1)) * 1024**power)


@app.command("get", cls=SelectionCommand)
def get_cmd(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The study: s3://bucket/prefix or a folder.")],
    keys: Annotated[
        list[str] | None,
        typer.Argument(help="Files by path in the study (optional).", show_default=False),
    ] = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    quiet: QuietOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Print local paths of study files, one per line, fetching what the cache lacks.

    Files come verified from the mirror cache; pick them by path or with the BIDS selection
    options. Downloads show a progress bar on stderr at a terminal (not with --quiet or
    --json).
    """
    from ..mirror import Mirror  # here: --help must not load the mirror

    filters = bids_options(ctx).filters
    if not keys and not filters:
        msg = "get needs file paths or at least one filter (refusing to fetch a whole study)"
        raise UsageError(msg, hint="e.g. `brainbucket get URL --subject 01 --datatype dwi`")
    with contextlib.ExitStack() as stack:
        bar = None
        if not (quiet or json_out):
            # Drawn only at a terminal, and gone when done: stdout keeps only the paths.
            bar = stack.enter_context(ProgressBar("fetching", add_queued=True))
        m = Mirror(
            url,
            cache_dir=cache_dir,
            offline=offline or None,
            settings=settings_for_cli(urls=[] if offline else [url]),
            callbacks=bar,
        )
        paths: list[Path] = [m.path(k) for k in keys or []]
        if filters:
            paths += m.files(**filters)
    if json_out:
        emit_json({"url": url, "paths": [str(p) for p in paths]})
        return
    out = sys.stdout
    for p in paths:
        out.write(f"{p}\n")


@mirror_app.command("status", cls=SelectionCommand)
def status_cmd(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Argument(help="One study's mirror (default: all).", show_default=False)
    ] = None,
    cache_dir: CacheOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mirrors in the cache: their URL, files and bytes (of a selection, with the BIDS
    selection options). Never contacts the server."""

    from ..mirror import Mirror, mirror_all

    filters = bids_options(ctx).filters
    rows = (
        [Mirror(url, cache_dir=cache_dir, settings=settings_for_cli(anon=False)).status(**filters)]
        if url
        else mirror_all(cache_dir, **filters)
    )
    if json_out:
        emit_json({"mirrors": [r.to_dict() for r in rows]})
        return
    print_table(
        [
            Column("url"),
            Column("files", right=True),
            Column("size", right=True, human=human_size),
            Column("folder"),
        ],
        [(r.url, r.files, r.size, r.root) for r in rows],
    )
    total = sum(r.size for r in rows)
    # A pipe gets rows only; the summary goes where a person still sees it.
    (console if to_terminal() else err_console).print(
        f"{len(rows)} mirror(s), {sum(r.files for r in rows)} files, {human_size(total)}"
    )


@mirror_app.command("verify", cls=SelectionCommand)
def verify_cmd(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The study whose mirror to check.")],
    cache_dir: CacheOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-hash every cached file (of a selection, with the BIDS selection options); damaged
    ones are removed (fetched again on next use). Never contacts the server.

    Exits 8 if any file was damaged.
    """
    from .._exceptions import IntegrityError
    from ..mirror import Mirror

    settings = settings_for_cli(anon=False)
    report = Mirror(url, cache_dir=cache_dir, settings=settings).verify(**bids_options(ctx).filters)
    if json_out:
        emit_json({"url": url, **report.to_dict()})
    else:
        for key in report.damaged:
            console.print(f"damaged, removed: {escape(key)}")
        console.print(f"{report.checked} files checked, {len(report.damaged)} damaged")
    if report.damaged:
        msg = f"{len(report.damaged)} of {report.checked} cached files were damaged and removed"
        raise IntegrityError(msg, hint="they are fetched again the next time they are asked for")


@mirror_app.command("gc")
def gc_cmd(
    max_size: Annotated[
        str,
        typer.Option(
            "--max-size", help="Keep at most this much, e.g. 50G (least recently used go first)."
        ),
    ],
    url: Annotated[
        str | None, typer.Argument(help="One study's mirror (default: all).", show_default=False)
    ] = None,
    cache_dir: CacheOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Evict least recently used files until the cache holds at most --max-size."""
    from ..mirror import Mirror, gc_all

    limit = parse_size(max_size)
    settings = settings_for_cli(anon=False)
    report = (
        Mirror(url, cache_dir=cache_dir, settings=settings).gc(limit)
        if url
        else gc_all(limit, cache_dir)
    )
    if json_out:
        emit_json(report.to_dict())
        return
    console.print(
        f"removed {report.removed} files ({human_size(report.freed)}); "
        f"kept {report.kept} files ({human_size(report.kept_size)})"
        + (f"; {report.temp_removed} stale temporary files removed" if report.temp_removed else "")
    )
