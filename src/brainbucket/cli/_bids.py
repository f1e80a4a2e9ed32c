"""validate and BIDS queries: ``brainbucket validate``, ``brainbucket study``.

The filter options here (``--subject`` ... ``--where``) are shared with ``get`` and ``sync``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.markup import escape

from .._exceptions import UsageError, ValidationError
from ..bids import Selection, Study, selector, validate
from ..store import S3Settings
from ._app import (
    JsonOpt,
    app,
    console,
    emit_json,
    human_size,
    open_for_cli,
)

__all__ = [
    "DatatypeOpt",
    "EntityOpt",
    "ExtensionOpt",
    "PipelineOpt",
    "SampleOpt",
    "SeedOpt",
    "SessionOpt",
    "SubjectOpt",
    "SuffixOpt",
    "WhereOpt",
    "filter_keywords",
    "print_selection",
    "selection_from_options",
]

BIDS_PANEL = "BIDS selection"
SELECTION_EPILOG = (
    "Each BIDS selection option takes several values: --subject 01 02, --subject 01,02 "
    "or the option repeated."
)

# Every selection option takes several values after one flag (``--subject 01 02``), separated
# by commas (``--subject 01,02``) or with the option repeated; the commands' help says so once.
SubjectOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--subject",
        metavar="LABEL",
        help="Only these subjects, with or without sub-: --subject 01 02.",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
SessionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--session",
        metavar="LABEL",
        help="Only these sessions, with or without ses-: --session pre post.",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
DatatypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--datatype",
        metavar="NAME",
        help="Only files in these datatype folders: --datatype anat dwi (or func, fmap ...).",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
SuffixOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--suffix",
        metavar="NAME",
        help="Only files whose name ends in these suffixes: --suffix T1w bold (sub-01_T1w.nii.gz).",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
ExtensionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--extension",
        metavar="EXT",
        help="Only files with these extensions: --extension .nii.gz .json.",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
PipelineOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pipeline",
        metavar="NAME",
        help="Only these derivatives/NAME folders, or raw for the raw data alone: "
        "--pipeline fmriprep.",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
EntityOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--entity",
        metavar="KEY=VALUE",
        help="Only files with this value of any other entity: --entity task=rest (repeat the "
        "option for more entities; task=rest,nback for more values).",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
SampleOpt = Annotated[
    int | None,
    typer.Option(
        "--sample",
        min=0,
        metavar="N",
        help="Only N subjects picked at random (the same N and --seed pick the same ones).",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        "--seed",
        help="Random seed of --sample: another seed picks other subjects.",
        rich_help_panel=BIDS_PANEL,
    ),
]
WhereOpt = Annotated[
    str | None,
    typer.Option(
        "--where",
        metavar="EXPR",
        help="Only subjects whose participants.tsv row matches, e.g. \"age > 30 and sex == 'F'\".",
        show_default=False,
        rich_help_panel=BIDS_PANEL,
    ),
]


MULTI_FLAGS = frozenset(
    {"--subject", "--session", "--datatype", "--suffix", "--extension", "--pipeline"}
)


def _more_values(token: str) -> bool:
    """Is ``token`` another value of a multi-value option (not an option, URL or path)?"""
    return not (token.startswith("-") or "/" in token or ":" in token or os.path.exists(token))


def expand_multi(args: list[str]) -> list[str]:
    """``--subject 01 02`` → ``--subject 01 --subject 02``, as the options are documented.

    Examples
    --------
    >>> expand_multi(["s3://b/s", "./out", "--subject", "01", "02", "--datatype", "dwi"])
    ['s3://b/s', './out', '--subject', '01', '--subject', '02', '--datatype', 'dwi']
    """
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        out.append(arg)
        i += 1
        if arg == "--":
            out += args[i:]
            break
        if arg in MULTI_FLAGS and i < len(args):
            out.append(args[i])
            i += 1
            while i < len(args) and _more_values(args[i]):
                out += [arg, args[i]]
                i += 1
    return out


class MultiValueCommand(typer.core.TyperCommand):
    """A command whose BIDS filter options take several values after one flag."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        return super().parse_args(ctx, expand_multi(args))


def _many(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


def _entities(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, list[str]] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            msg = f"--entity takes key=value, not {pair!r}"
            raise UsageError(msg, hint="for example --entity task=rest")
        out.setdefault(key.strip(), []).extend(v for v in value.split(",") if v)
    return out


def filter_keywords(**options: list[str] | None) -> dict[str, Any]:
    """The library's filter keywords (as :meth:`brainbucket.bids.Study.files` takes them) for
    the filter options ``--subject`` ... ``--pipeline`` and ``--entity``: values split at
    commas, ``key=value`` pairs as entities, options not given left out.

    Examples
    --------
    >>> filter_keywords(subject=["01,02"], session=None, entity=["task=rest"])
    {'subject': ['01', '02'], 'task': ['rest']}
    """
    entity = options.pop("entity", None)
    named = {name: values for name, given in options.items() if (values := _many(given))}
    return {**named, **_entities(entity)}


def selection_from_options(
    study: Study,
    *,
    sample: int | None = None,
    seed: int = 0,
    where: str | None = None,
    **options: list[str] | None,
) -> Selection:
    """The :func:`brainbucket.bids.selector` call the CLI's filter options describe
    (``subject`` ... ``pipeline`` and ``entity``, as :func:`filter_keywords` takes them)."""
    return selector(study, sample=sample, seed=seed, where=where, **filter_keywords(**options))


def print_selection(sel: Selection, *, verb: str = "selected") -> None:
    """One summary line: files, bytes and subjects of a selection."""
    subj = ", ".join(sel.subjects[:8]) + (" ..." if len(sel.subjects) > 8 else "")
    console.print(
        f"{verb}: {sel.count} files, {human_size(sel.size)} ({sel.size} bytes), "
        f"{len(sel.subjects)} subjects" + (f" [{escape(subj)}]" if sel.subjects else "")
    )


@app.command("validate")
def validate_cmd(
    url: Annotated[str, typer.Argument(help="A study folder or s3://bucket/prefix.")],
    json_out: JsonOpt = False,
) -> None:
    """Check file names against the BIDS schema: one line per problem, with the rule broken.

    Exits 14 when the study is not valid BIDS.
    """
    study = Study(store=open_for_cli(url))
    problems = validate(study)
    if json_out:
        emit_json(
            {
                "url": url,
                "valid": not problems,
                "files": len(study.index),
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            console.print(escape(str(p)))
        if not problems:
            console.print(f"{escape(url)}: valid BIDS ({len(study.index)} files)")
    if problems:
        msg = f"{url}: {len(problems)} BIDS problem(s) in {len(study.index)} files"
        raise ValidationError(
            msg, hint="rename the files listed above, or list them in .bidsignore"
        )


@app.command("study", cls=MultiValueCommand, epilog=SELECTION_EPILOG)
def study_cmd(
    url: Annotated[str, typer.Argument(help="A study folder or s3://bucket/prefix.")],
    subject: SubjectOpt = None,
    session: SessionOpt = None,
    datatype: DatatypeOpt = None,
    suffix: SuffixOpt = None,
    extension: ExtensionOpt = None,
    pipeline: PipelineOpt = None,
    entity: EntityOpt = None,
    sample: SampleOpt = None,
    seed: SeedOpt = 0,
    where: WhereOpt = None,
    list_files: Annotated[bool, typer.Option("--files", help="List the selected files.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Summarise a BIDS study, or a selection of it, with sizes, before downloading.

    Subjects, sessions, datatypes, pipelines, files kept although not plain BIDS, and what the
    filter options select (add --files to list them).
    """
    study = Study(store=open_for_cli(url))
    sel = selection_from_options(
        study,
        subject=subject,
        session=session,
        datatype=datatype,
        suffix=suffix,
        extension=extension,
        pipeline=pipeline,
        entity=entity,
        sample=sample,
        seed=seed,
        where=where,
    )
    summary: dict[str, Any] = {
        "url": url,
        "source": study.source,
        "files": len(study.index),
        "size": sum(f.size for f in study.index),
        "subjects": study.subjects(),
        "sessions": study.sessions(),
        "datatypes": study.datatypes(),
        "pipelines": study.pipelines(),
        "bidsish": [{"path": f.path, "problem": f.problem} for f in study.bidsish()],
        "selection": sel.to_dict(),
    }
    if json_out:
        emit_json(summary)
        return
    from rich.table import Table  # only this summary draws a table

    table = Table(show_header=False, show_edge=False, box=None)
    table.add_row("study", escape(url))
    table.add_row("read from", str(study.source))
    table.add_row("files", f"{summary['files']} ({human_size(summary['size'])})")
    for name in ("subjects", "sessions", "datatypes", "pipelines"):
        values = summary[name]
        shown = ", ".join(values[:12]) + (f" ... ({len(values)})" if len(values) > 12 else "")
        table.add_row(name, escape(shown or "-"))
    ish = summary["bidsish"]
    table.add_row(
        "not BIDS",
        f"{len(ish)} files kept"
        + (f" (e.g. {escape(ish[0]['path'])}: {escape(ish[0]['problem'])})" if ish else ""),
    )
    console.print(table)
    print_selection(sel)
    if list_files:
        for f in sel.files:
            console.print(f"{f.size:>12}  {escape(f.path)}")


ValidateOpt = Annotated[
    bool,
    typer.Option(
        "--validate", help="Refuse to upload a study that is not valid BIDS (unless --force)."
    ),
]


def selection_for_sync(
    src: str,
    dst: str,
    *,
    subject: list[str] | None,
    session: list[str] | None,
    datatype: list[str] | None,
    pipeline: list[str] | None,
    sample: int | None,
    seed: int,
    where: str | None,
    check_valid: bool,
    force: bool,
    show: bool,
    settings: S3Settings,
) -> Selection | None:
    """The BIDS side of ``sync``: validate the source if asked, resolve a selective transfer
    and show its size before anything moves. ``None`` when no BIDS option was given."""
    filters = {"subject": subject, "session": session, "datatype": datatype, "pipeline": pipeline}
    selective = any(v for v in filters.values()) or sample is not None or where is not None
    if not selective and not check_valid:
        return None
    study = Study(src, settings=settings)
    if check_valid:
        problems = validate(study)
        if problems and not force:
            for p in problems[:20]:
                console.print(escape(str(p)))
            msg = f"{src}: {len(problems)} BIDS problem(s); nothing was transferred to {dst}"
            raise ValidationError(
                msg, hint="fix them (see `brainbucket validate`), or pass --force to sync anyway"
            )
    if not selective:
        return None
    sel = selection_from_options(
        study,
        subject=subject,
        session=session,
        datatype=datatype,
        pipeline=pipeline,
        sample=sample,
        seed=seed,
        where=where,
    )
    if show:
        print_selection(sel, verb="selection")
    return sel
