"""validate and BIDS queries: ``brainbucket validate``, ``brainbucket study``.

The selection options of ``study`` (``--subject`` ... ``--where``) are the ones ``get``,
``sync``, ``status`` and ``mirror`` take (``_select``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .._exceptions import ValidationError
from ._app import (
    JsonOpt,
    app,
    console,
    emit_json,
    escape,
    human_size,
    open_for_cli,
)
from ._render import Column, print_table, to_terminal
from ._select import SubjectPickingCommand, bids_options, print_selection


@app.command("validate")
def validate_cmd(
    url: Annotated[str, typer.Argument(help="A study folder or s3://bucket/prefix.")],
    json_out: JsonOpt = False,
) -> None:
    """Check file names against the BIDS schema: one line per problem, with the rule broken.

    Exits 14 when the study is not valid BIDS.
    """
    from ..bids import Study, validate  # here: --help must not load the BIDS schema

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


@app.command("study", cls=SubjectPickingCommand)
def study_cmd(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="A study folder or s3://bucket/prefix.")],
    list_files: Annotated[bool, typer.Option("--files", help="List the selected files.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Summarise a BIDS study, or a selection of it, with sizes, before downloading.

    Subjects, sessions, datatypes, pipelines, files kept although not plain BIDS, and what the
    selection options select (add --files to list them).
    """
    from ..bids import Study

    study = Study(store=open_for_cli(url))
    sel = bids_options(ctx).selection(study)
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
    _print_summary(summary)
    print_selection(sel)
    if list_files:
        print_table(
            [Column("size", right=True), Column("path")], [(f.size, f.path) for f in sel.files]
        )


_SUMMARY_LISTS = ("subjects", "sessions", "datatypes", "pipelines")


def _print_summary(summary: dict[str, Any]) -> None:
    # People get long lists cut short; a pipe gets every value.
    people = to_terminal()

    def listed(values: list[str]) -> str:
        if people and len(values) > 12:
            return ", ".join(values[:12]) + f" ... ({len(values)})"
        return ", ".join(values)

    ish = summary["bidsish"]
    print_table(
        ["field", "value"],
        [
            ("study", summary["url"]),
            ("read from", summary["source"]),
            ("files", f"{summary['files']} ({human_size(summary['size'])})"),
            *((name, listed(summary[name]) or None) for name in _SUMMARY_LISTS),
            (
                "not BIDS",
                f"{len(ish)} files kept"
                + (f" (e.g. {ish[0]['path']}: {ish[0]['problem']})" if ish else ""),
            ),
        ],
        header=False,
    )
