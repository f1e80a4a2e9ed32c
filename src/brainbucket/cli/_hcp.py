"""hcp ls|fetch|verify: the Human Connectome Project open-access bucket, as BIDS."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from .._exceptions import IntegrityError, UsageError

# The layout alone (releases, kinds): the store and the fetcher load when a command runs, so
# `brainbucket --help` does not pay for them.
from ..hcp import DEFAULT_BUCKET, DEFAULT_RELEASE, KINDS, RELEASES
from ..hcp._layout import check_kinds, normalize_subject
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
from ._confirm import confirm
from ._progress import ProgressBar
from ._render import Column, print_table

if TYPE_CHECKING:
    from ..hcp import HCP, Selection

hcp_app = typer.Typer(
    name="hcp",
    help="Human Connectome Project: list subjects, fetch them as a BIDS derivatives tree.",
    no_args_is_help=True,
)
app.add_typer(hcp_app, name="hcp")

_KIND_HELP = "Comma-separated kinds: " + ", ".join(KINDS) + " (see `brainbucket hcp kinds`)."

ReleaseOpt = Annotated[str, typer.Option("--release", help=f"Release: {', '.join(RELEASES)}.")]
BucketOpt = Annotated[
    str, typer.Option("--bucket", help="Bucket holding the HCP data (a mirror of it, say).")
]
HcpProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="AWS profile with your ConnectomeDB keys (default: `hcp` if configured, else "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).",
        show_default=False,
    ),
]
KindsOpt = Annotated[str, typer.Option("--kinds", help=_KIND_HELP)]

_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"10G"``, ``"512MiB"``, ``"0"`` → bytes (powers of 1024).

    Examples
    --------
    >>> parse_size("1.5K")
    1536
    """
    m = _SIZE_RE.match(text)
    if not m:
        msg = f"not a size: {text!r}"
        raise UsageError(msg, hint="use a number with an optional K, M, G or T suffix, e.g. 10G")
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * 1024**power)


def _check_args(subjects: list[str], kinds: str, pipeline: str = "hcp") -> None:
    """Refuse malformed arguments before any credential or network work."""
    from ..hcp._record import check_pipeline

    for s in _split_ids(subjects):
        normalize_subject(s)
    check_kinds(kinds)
    check_pipeline(pipeline)


def _client(release: str, bucket: str, profile: str | None) -> HCP:
    from ..hcp import HCP

    # HCP picks the profile by its own rule (`hcp` by default) from this value.
    settings = settings_for_cli(profile, anon=False, urls=[f"s3://{bucket}"])
    return HCP(release, bucket=bucket, settings=settings)


def _split_ids(ids: list[str]) -> list[str]:
    return [p for i in ids for p in re.split(r"[,\s]+", i) if p]


def _print_selection(sel: Selection) -> None:

    sizes = sel.size_by_subject()
    print_table(
        [
            Column("subject"),
            Column("files", right=True),
            Column("size", right=True, human=human_size),
        ],
        [(s, sum(1 for f in sel.files if f.subject == s), sizes[s]) for s in sel.subjects],
        footer=("total", len(sel.files), sel.total_size),
    )
    _print_gaps(sel)


def _print_gaps(sel: Selection) -> None:
    for s, reason in sel.skipped.items():
        err_console.print(f"[yellow]skipped[/] {s}: {escape(reason)}")
    for s, what in sel.missing.items():
        err_console.print(f"[yellow]missing[/] {s}: {escape(', '.join(what))}")


@hcp_app.command("ls")
def ls_cmd(
    subjects: Annotated[
        list[str] | None,
        typer.Argument(help="Subject ids: show their files and sizes instead of listing subjects."),
    ] = None,
    release: ReleaseOpt = DEFAULT_RELEASE,
    kinds: KindsOpt = "dwi,anat",
    bucket: BucketOpt = DEFAULT_BUCKET,
    profile: HcpProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the release's subjects; with subject ids, their files, sizes and BIDS names."""
    if subjects:
        _check_args(subjects, kinds)
    client = _client(release, bucket, profile)
    if not subjects:
        ids = client.subjects()
        if json_out:
            emit_json({"release": release, "count": len(ids), "subjects": ids})
        else:
            sys.stdout.write("".join(f"{i}\n" for i in ids))
            err_console.print(f"{len(ids)} subjects in {escape(release)}")
        return
    sel = client.select(_split_ids(subjects), kinds)
    if json_out:
        emit_json(sel.to_dict())
        return
    print_table(
        [Column("size", right=True, human=human_size), Column("HCP key"), Column("BIDS path")],
        [(f.size, f.key, f.target) for f in sel.files],
    )
    _print_selection(sel)


@hcp_app.command("fetch")
def fetch_cmd(
    subjects: Annotated[list[str], typer.Argument(help="Subject ids, e.g. 100206 100307.")],
    to: Annotated[str, typer.Option("--to", help="BIDS dataset root to create or update.")],
    kinds: KindsOpt = "dwi,anat",
    pipeline: Annotated[
        str, typer.Option("--pipeline", help="Write into TO/derivatives/PIPELINE.")
    ] = "hcp",
    release: ReleaseOpt = DEFAULT_RELEASE,
    bucket: BucketOpt = DEFAULT_BUCKET,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be fetched; write nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before a large download.")
    ] = False,
    confirm_above: Annotated[
        str,
        typer.Option("--confirm-above", help="Ask before downloading more than this (e.g. 10G)."),
    ] = "10G",
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Downloads in flight at once.")
    ] = None,
    profile: HcpProfileOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fetch subjects into TO/derivatives/PIPELINE as BIDS: verified (size + MD5), resumable.

    The size is shown first; above --confirm-above it asks unless --yes. Subjects without
    the diffusion data asked for are reported and skipped.
    """
    from ..hcp import execute_fetch, plan_fetch

    threshold = parse_size(confirm_above)
    _check_args(subjects, kinds, pipeline)
    client = _client(release, bucket, profile)
    plan = plan_fetch(client, _split_ids(subjects), to, kinds=kinds, pipeline=pipeline)
    need = plan.download_size
    if not json_out:
        _print_selection(plan.selection)
        console.print(
            f"to download: {len(plan.downloads)} files, {human_size(need)}"
            f" ({len(plan.up_to_date)} already present) → {escape(str(plan.derivative))}"
        )
    if dry_run:
        if json_out:
            emit_json({"dry_run": True, **plan.to_dict()})
        else:
            for f, p in plan.downloads:
                console.print(f"would fetch {escape(f.key)} → {escape(str(p))}")
        return
    if need > threshold and not yes:
        if not sys.stdin.isatty():
            msg = f"refusing to download {human_size(need)} (more than {human_size(threshold)}) without confirmation"
            raise UsageError(msg, hint="pass --yes, or raise --confirm-above")
        confirm(f"Download {human_size(need)}?", nothing="nothing downloaded")
    if json_out or not plan.downloads:
        result = execute_fetch(plan, jobs=jobs)
    else:
        with ProgressBar("fetching", total_bytes=need, total_files=len(plan.downloads)) as bar:
            result = execute_fetch(plan, jobs=jobs, callbacks=bar)
    if json_out:
        emit_json(result.to_dict())
    elif not plan.downloads:
        console.print(
            f"nothing to fetch: all {len(plan.up_to_date)} files are present and verified"
            f" in {escape(str(result.derivative))}"
        )
    else:
        console.print(
            f"fetched {len(result.downloaded)} files ({human_size(result.bytes)}), verified;"
            f" BIDS derivatives in {escape(str(result.derivative))}"
        )


@hcp_app.command("verify")
def verify_cmd(
    dest: Annotated[str, typer.Argument(help="The dataset root given to `hcp fetch --to`.")],
    pipeline: Annotated[
        str, typer.Option("--pipeline", help="The derivatives/PIPELINE folder `hcp fetch` wrote.")
    ] = "hcp",
    json_out: JsonOpt = False,
) -> None:
    """Re-hash every fetched file against the fetch record (exit 8 on any difference)."""
    from ..hcp import verify

    problems = verify(dest, pipeline)
    if json_out:
        emit_json(
            {"ok": not problems, "problems": [{"path": p, "problem": w} for p, w in problems]}
        )
    else:
        for p, w in problems:
            err_console.print(f"[red]{escape(p)}[/]: {escape(w)}")
    if problems:
        msg = f"{len(problems)} fetched files differ from the record (first: {problems[0][0]}: {problems[0][1]})"
        raise IntegrityError(
            msg, hint="re-run `brainbucket hcp fetch` with the same arguments to repair them"
        )
    if not json_out:
        console.print("all fetched files match the record")


@hcp_app.command("kinds")
def kinds_cmd(json_out: JsonOpt = False) -> None:
    """The kinds of files `--kinds` accepts, and where each goes in the BIDS tree."""
    if json_out:
        emit_json(
            [
                {
                    "name": k.name,
                    "folder": k.folder,
                    "files": k.files,
                    "session": k.session,
                    "description": k.description,
                }
                for k in KINDS.values()
            ]
        )
        return
    for k in KINDS.values():
        console.print(f"[bold]{k.name}[/]: {escape(k.description)}")
        if not k.files:
            console.print(f"    {escape(k.folder)}**  →  sourcedata/<key>")
        for name, template in k.files.items():
            target = template.format(sub="<id>", ses=k.session) if template else "sourcedata/<key>"
            console.print(f"    {escape(k.folder + name)}  →  {escape(target)}")
