"""sync, status, verify (issue: incremental verified sync)."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._exceptions import IntegrityError
from .._paths import printable  # keys are untrusted: no control characters to a terminal
from ._app import (
    JsonOpt,
    app,
    cli_options,
    console,
    emit_json,
    err_console,
    escape,
    human_size,
    settings_for_cli,
)
from ._progress import ProgressBar
from ._select import SubjectPickingCommand, bids_options, selection_for_sync

if TYPE_CHECKING:
    from ..sync import Plan, SyncResult

# The sync engine is imported by the commands: `brainbucket --help` imports every command
# module, and must not pay for what none of them runs.


def _tune_allocator() -> None:
    """Let glibc reuse the ~1 MiB download buffers instead of mapping and unmapping each one.

    Measured on large downloads: about a third less system time (page faults). Process-wide,
    hence here in the command and not in the library; a no-op where glibc is absent.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD: its maximum on 64-bit
        libc.mallopt(-1, 256 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


class _OrderedFilters(SubjectPickingCommand):
    """The BIDS selection options, and the command-line order of --include/--exclude: later
    rules win."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        order: list[tuple[str, str]] = []
        it = iter(args)
        for arg in it:
            if arg == "--":
                break
            for kind in ("include", "exclude"):
                flag = f"--{kind}"
                if arg == flag:
                    value = next(it, None)
                    if value is not None:
                        order.append((kind, value))
                elif arg.startswith(flag + "="):
                    order.append((kind, arg[len(flag) + 1 :]))
        ctx.meta["filter_order"] = order
        return super().parse_args(ctx, args)


IncludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        help="Glob of dataset paths to include (repeatable; rules apply in order, the last match wins).",
        show_default=False,
    ),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude", help="Glob of dataset paths to exclude (repeatable).", show_default=False
    ),
]
NoFollowOpt = Annotated[
    bool, typer.Option("--no-follow-symlinks", help="Skip symlinks instead of following them.")
]
ValidateOpt = Annotated[
    bool,
    typer.Option(
        "--validate", help="Refuse to upload a study that is not valid BIDS (unless --force)."
    ),
]
DeleteOpt = Annotated[
    bool, typer.Option("--delete", help="Delete files at the destination that the source lacks.")
]


def _print_plan(p: Plan) -> None:
    for a in p.actions:
        console.print(
            f"{a.kind:<12} {escape(printable(a.path))}  [dim]{human_size(a.size)}  {escape(a.reason)}[/]"
        )
    for path, err in p.errors:
        console.print(
            f"[red]{'error':<12}[/] {escape(printable(path))}  [dim]{escape(printable(err))}[/]"
        )
    n_t, n_d = len(p.transfers), len(p.deletes)
    verb = "upload" if p.direction == "upload" else "download"
    console.print(
        f"[bold]{n_t}[/] to {verb} ({human_size(p.transfer_bytes)}), [bold]{n_d}[/] to delete, "
        f"{p.unchanged} unchanged ({human_size(p.unchanged_bytes)})"
        + (f", [red]{len(p.errors)} refused or unreadable[/]" if p.errors else "")
    )


def _summary(r: SyncResult) -> None:
    rate = r.transferred_bytes / r.elapsed if r.elapsed > 0 else 0.0
    verb = "uploaded" if r.plan.direction == "upload" else "downloaded"
    line = (
        f"{verb} [bold]{r.transferred}[/] files ({human_size(r.transferred_bytes)}), "
        f"{r.unchanged} unchanged, {r.deleted} deleted"
    )
    if r.failed:
        line += f", [bold red]{len(r.failed)} failed[/]"
    line += f" in {r.elapsed:.1f} s ({human_size(rate)}/s)"
    console.print(line)
    for path, err in r.failed[:20]:
        err_console.print(f"[red]failed:[/] {escape(printable(path))}: {escape(printable(err))}")
    if len(r.failed) > 20:
        err_console.print(f"... and {len(r.failed) - 20} more (see --json)")


@app.command("sync", cls=_OrderedFilters)
def sync_cmd(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(help="Source: a folder or s3://bucket/prefix.")],
    dst: Annotated[str, typer.Argument(help="Destination: s3://bucket/prefix or a folder.")],
    delete: DeleteOpt = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Allow --delete to remove more than half of the destination."),
    ] = False,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Transfers in flight (default BRAINBUCKET_JOBS or 64)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Print the plan; change nothing.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary; errors only.")
    ] = False,
    no_follow_symlinks: NoFollowOpt = False,
    fsync: Annotated[
        bool,
        typer.Option(
            "--fsync",
            help="Flush each downloaded file to disk before renaming it into place, so it "
            "survives a power cut (default BRAINBUCKET_FSYNC, off).",
        ),
    ] = False,
    validate_src: ValidateOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Make DST hold what SRC holds: only new or changed files move, every one verified.

    Uploads leave a manifest in the bucket; downloads check every file against it. Re-run
    after an interruption to resume. The BIDS selection options move only the chosen part of a
    study, plus its dataset-level files; --validate refuses an invalid study.
    """
    from .._config import Config
    from ..sync import sync

    rules = ctx.meta.get("filter_order") or []
    _tune_allocator()
    config = Config()
    if fsync:
        config = dataclasses.replace(config, fsync=True)
    settings = settings_for_cli(urls=[src, dst])
    kw: dict[str, Any] = {
        "delete": delete,
        "force": force,
        "filters": rules,
        "jobs": jobs,
        "follow_symlinks": not no_follow_symlinks,
        "settings": settings,
        "config": config,
        "check": False,
    }
    selection = selection_for_sync(
        src,
        dst,
        bids_options(ctx),
        check_valid=validate_src,
        force=force,
        show=not (quiet or json_out),
        settings=settings,
    )
    if selection is not None:
        kw["select"] = selection
    if dry_run:
        result = sync(src, dst, dry_run=True, **kw)
        if json_out:
            emit_json(result.plan.to_dict())
        elif not quiet:
            _print_plan(result.plan)
        return
    t0 = time.perf_counter()
    if quiet or json_out:
        result = sync(src, dst, **kw)
    else:
        with ProgressBar("sync", total_bytes=0) as bar:

            def on_plan(p: Plan) -> None:
                bar.set_totals(p.transfer_bytes, len(p.actions))

            result = sync(src, dst, callbacks=bar, on_plan=on_plan, **kw)
    result.elapsed = time.perf_counter() - t0
    if json_out:
        emit_json(result.to_dict())
    elif not quiet:
        _summary(result)
    elif result.failed:
        for path, err in result.failed[:20]:
            err_console.print(
                f"[red]failed:[/] {escape(printable(path))}: {escape(printable(err))}"
            )
    result.raise_for_failures()


@app.command("status", cls=_OrderedFilters)
def status_cmd(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(help="Source: a folder or s3://bucket/prefix.")],
    dst: Annotated[str, typer.Argument(help="Destination: s3://bucket/prefix or a folder.")],
    delete: DeleteOpt = False,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    no_follow_symlinks: NoFollowOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """What `sync SRC DST` would do: each file to move or delete, with the reason and size.

    Takes the same BIDS selection options as sync.
    """
    from ..sync import plan

    rules = ctx.meta.get("filter_order") or []
    settings = settings_for_cli(urls=[src, dst])
    selection = selection_for_sync(
        src,
        dst,
        bids_options(ctx),
        check_valid=False,
        force=False,
        show=not (cli_options().quiet or json_out),
        settings=settings,
    )
    p = plan(
        src,
        dst,
        delete=delete,
        filters=rules,
        follow_symlinks=not no_follow_symlinks,
        settings=settings,
        select=selection,
    )
    if json_out:
        emit_json(p.to_dict())
    else:
        _print_plan(p)


@app.command("verify")
def verify_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a folder with a manifest.")],
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Also download and hash every object (of a bucket)."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Re-check a dataset against its manifest: missing, extra and mismatched files."""
    from ..sync import verify

    report = verify(url, deep=deep, settings=settings_for_cli(urls=[url]))
    if json_out:
        emit_json(report.to_dict())
    else:
        for p in report.missing:
            console.print(f"[red]missing[/]     {escape(p)}")
        for p in report.extra:
            console.print(f"[yellow]extra[/]       {escape(p)}")
        for p, why in report.mismatched:
            console.print(f"[red]mismatched[/]  {escape(p)}  [dim]{escape(why)}[/]")
        state = "[bold green]ok[/]" if report.ok else "[bold red]problems found[/]"
        console.print(
            f"{state}: {report.checked} files checked, {len(report.missing)} missing, "
            f"{len(report.extra)} extra, {len(report.mismatched)} mismatched"
        )
    if not report.ok:
        n = len(report.missing) + len(report.extra) + len(report.mismatched)
        msg = f"{report.url}: {n} file(s) differ from the manifest"
        raise IntegrityError(msg, hint="re-run the sync from the source to repair it")
