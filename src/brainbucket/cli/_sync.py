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
from ._render import Column, print_table, to_terminal
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
    """The plan as `sync --dry-run` logs it: one line per action, then the summary."""
    for a in p.actions:
        console.print(
            f"{a.kind:<12} {escape(printable(a.path))}  [dim]{human_size(a.size)}  {escape(a.reason)}[/]"
        )
    for path, err in p.errors:
        console.print(
            f"[red]{'error':<12}[/] {escape(printable(path))}  [dim]{escape(printable(err))}[/]"
        )
    console.print(_plan_summary(p))


def _plan_summary(p: Plan) -> str:
    n_t, n_d = len(p.transfers), len(p.deletes)
    verb = "upload" if p.direction == "upload" else "download"
    return (
        f"[bold]{n_t}[/] to {verb} ({human_size(p.transfer_bytes)}), [bold]{n_d}[/] to delete, "
        f"{p.unchanged} unchanged ({human_size(p.unchanged_bytes)})"
        + (f", [red]{len(p.errors)} refused or unreadable[/]" if p.errors else "")
    )


def _plan_table(p: Plan) -> None:
    """The plan as `status` shows it: a table of actions; the summary after it at a terminal,
    on stderr otherwise (so a pipe gets only rows)."""
    print_table(
        [
            Column("action", style=lambda kind: "red" if kind == "error" else None),
            Column("path"),
            Column("size", right=True, human=human_size),
            Column("reason", style=lambda _: "dim"),
        ],
        [
            *((a.kind, a.path, a.size, a.reason) for a in p.actions),
            *(("error", path, None, err) for path, err in p.errors),
        ],
    )
    (console if to_terminal() else err_console).print(_plan_summary(p))


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
        refusal = result.refusal
        if json_out:
            emit_json(
                {**result.plan.to_dict(), "refusal": str(refusal) if refusal is not None else None}
            )
        elif not quiet:
            _print_plan(result.plan)
        if refusal is not None:
            # The plan above shows what would be deleted; a real run stops before it.
            err_console.print(
                f"[bold yellow]warning:[/] a real run would stop: {escape(refusal.message)}"
            )
            if refusal.hint:
                err_console.print(f"[dim]hint:[/] {escape(refusal.hint)}")
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
    if not quiet:
        for warning in result.warnings:
            err_console.print(f"[bold yellow]warning:[/] {escape(warning)}")
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
        _plan_table(p)


@app.command("verify")
def verify_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix or a folder with a manifest.")],
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also download and hash every object of a bucket (streamed) against the "
            "manifest's sha256.",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar; the report and errors only.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Re-check a dataset against its manifest: missing, mismatched and untracked files.

    Exits 0 when every file the manifest lists is intact, even if objects it does not list
    are there (they are listed as untracked, as `git status` does); 8 when one is missing or
    damaged. A bucket is checked by size and ETag; where a server's ETag cannot prove a file
    (a multipart upload some servers report by its plain MD5), the file is listed as
    unverifiable, not damaged, and --deep settles it. Hashing (a folder, or a bucket with
    --deep) shows a progress bar on stderr at a terminal (not with --quiet or --json).
    """
    from ..sync import verify

    settings = settings_for_cli(urls=[url])
    if quiet or json_out:
        report = verify(url, deep=deep, settings=settings)
    else:
        with ProgressBar("verifying", add_queued=True) as bar:
            report = verify(url, deep=deep, settings=settings, callbacks=bar)
    remote = report.url.startswith("s3://")
    if json_out:
        emit_json(report.to_dict())
    else:
        for p in report.missing:
            console.print(f"[red]missing[/]     {escape(printable(p))}")
        for p, why in report.mismatched:
            console.print(
                f"[red]mismatched[/]  {escape(printable(p))}  [dim]{escape(printable(why))}[/]"
            )
        for p in report.untracked:
            console.print(f"[yellow]untracked[/]   {escape(printable(p))}")
        for p in report.superseded:
            console.print(
                f"[yellow]superseded[/]  {escape(printable(p))}  [dim]a newer object is over the "
                "manifest's version, which is intact (reads get the manifest's)[/]"
            )
        for p, why in report.unverifiable:
            console.print(
                f"[yellow]unverifiable[/] {escape(printable(p))}  [dim]{escape(printable(why))}[/]"
            )
        state = "[bold green]ok[/]" if report.ok else "[bold red]problems found[/]"
        unsure = f", {len(report.unverifiable)} unverifiable by ETag" if report.unverifiable else ""
        console.print(
            f"{state}: {report.checked} files checked, {len(report.missing)} missing, "
            f"{len(report.mismatched)} mismatched, {len(report.untracked)} untracked{unsure}"
        )
        if report.ok and report.untracked:
            err_console.print(f"[dim]hint:[/] {escape(_untracked_hint(report.url, remote))}")
        if report.ok and report.unverifiable:
            err_console.print(
                f"[dim]hint:[/] the server's ETags cannot prove {len(report.unverifiable)} "
                f"file(s) intact; `brainbucket verify --deep {report.url}` downloads and "
                "hashes them against the manifest"
            )
    if not report.ok:
        n = len(report.missing) + len(report.mismatched)
        msg = f"{report.url}: {n} file(s) differ from the manifest"
        raise IntegrityError(msg, hint=_repair_hint(report.url, remote))


def _untracked_hint(url: str, remote: bool) -> str:
    """What to do about files the manifest does not list: commands that do it."""
    if remote:
        # An upload sync records every file of the folder it reads that the manifest lacks.
        return (
            f"to make them part of the dataset, `brainbucket sync DIR {url}` from a folder "
            f"that holds them; to remove one, `brainbucket rm {url.rstrip('/')}/PATH`"
        )
    return (
        "untracked files are not part of the dataset this folder holds: remove them if they "
        "do not belong (a download sync with --delete removes them)"
    )


def _repair_hint(url: str, remote: bool) -> str:
    """How to repair what a sync does not see: it trusts the manifest (and, for a folder,
    its hash cache), so re-running it alone would change nothing."""
    if remote:
        return (
            "upload each file listed again from the study folder, "
            f"`brainbucket cp DIR/PATH {url.rstrip('/')}/PATH` (an upload sync trusts the "
            "manifest and does not re-send them)"
        )
    return (
        "delete the files listed as mismatched, then re-run the download sync into this "
        f"folder (`brainbucket sync s3://SOURCE {url}`): it fetches what is missing, verified"
    )
