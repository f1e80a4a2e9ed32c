"""The one set of BIDS selection options: ``--subject --session --datatype --suffix
--extension --pipeline --entity KEY=VALUE``, and ``--sample --seed --where`` where a command
picks subjects.

A command gets them by its class (:class:`SelectionCommand`, :class:`SubjectPickingCommand`):
every such command (``get``, ``sync``, ``status``, ``study``, ``mirror status|verify``) has
the same names, the same help and the same parsing — several values after one flag
(``--subject 01 02``), separated by commas, or the option repeated. It reads them with
:func:`bids_options`, as the library's filter keywords (what :meth:`Study.files`,
:func:`~brainbucket.bids.selector` and :meth:`Query.of` take).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._exceptions import UsageError
from ._app import console, escape, human_size

if TYPE_CHECKING:
    from ..bids import Selection, Study
    from ..bids._query import Query
    from ..store import S3Settings

__all__ = [
    "BidsOptions",
    "SelectionCommand",
    "SubjectPickingCommand",
    "bids_options",
    "expand_multi",
    "filter_keywords",
    "print_selection",
    "selection_for_sync",
]

BIDS_PANEL = "BIDS selection"
SELECTION_EPILOG = (
    "Each BIDS selection option takes several values: --subject 01 02, --subject 01,02 "
    "or the option repeated."
)

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
        help="Only files with this value of any other entity: --entity task=rest acq=multi "
        "(task=rest,nback for several values).",
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


def _options(
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
) -> None:
    """Never called: its parameters declare the options, which Typer turns into parameters
    of the command line once (:func:`_declared`)."""


# The library's filters, in its order, then the options that pick subjects.
FILTERS = ("subject", "session", "datatype", "suffix", "extension", "pipeline", "entity")
PICKS = ("sample", "seed", "where")
MULTI_FLAGS = frozenset(f"--{name}" for name in FILTERS)
_META = "brainbucket.bids_options"


@cache
def _declared() -> dict[str, Any]:
    """The selection options as command-line parameters, by name, built by Typer once."""
    template = typer.Typer()
    template.command()(_options)
    return {str(p.name): p for p in typer.main.get_command(template).params}


def _keep(name: str) -> Callable[[Any, Any, Any], Any]:
    def callback(ctx: Any, param: Any, value: Any) -> Any:
        ctx.meta.setdefault(_META, {})[name] = value
        return value

    return callback


def _parameters(names: tuple[str, ...]) -> list[Any]:
    out = []
    for name in names:
        param = copy.copy(_declared()[name])
        # Read through bids_options(), not passed to the command's function.
        param.name = f"bids_{name}"
        param.expose_value = False
        param.callback = _keep(name)
        out.append(param)
    return out


class SelectionCommand(typer.core.TyperCommand):
    """A command with the BIDS filter options (``--subject`` ... ``--entity``): the same
    names, help and parsing in every command, several values after one flag."""

    selection: tuple[str, ...] = FILTERS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("epilog"):
            kwargs["epilog"] = SELECTION_EPILOG
        super().__init__(*args, **kwargs)
        self.params.extend(_parameters(self.selection))

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        return super().parse_args(ctx, expand_multi(args))


class SubjectPickingCommand(SelectionCommand):
    """A :class:`SelectionCommand` that also picks subjects: ``--sample --seed --where``."""

    selection = FILTERS + PICKS


def _more_values(flag: str, token: str) -> bool:
    """Is ``token`` another value of a multi-value option (not an option, URL or path)?"""
    if token.startswith("-") or "/" in token or ":" in token or os.path.exists(token):
        return False
    return flag != "--entity" or "=" in token


def expand_multi(args: list[str]) -> list[str]:
    """``--subject 01 02`` → ``--subject 01 --subject 02``, as the options are documented.

    Examples
    --------
    >>> expand_multi(["s3://b/s", "./out", "--subject", "01", "02", "--datatype", "dwi"])
    ['s3://b/s', './out', '--subject', '01', '--subject', '02', '--datatype', 'dwi']
    >>> expand_multi(["--entity", "task=rest", "acq=multi", "sub-01_T1w.nii.gz"])
    ['--entity', 'task=rest', '--entity', 'acq=multi', 'sub-01_T1w.nii.gz']
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
            while i < len(args) and _more_values(arg, args[i]):
                out += [arg, args[i]]
                i += 1
    return out


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


@dataclass(frozen=True)
class BidsOptions:
    """The BIDS selection options of one command line.

    Attributes
    ----------
    filters
        The library's filter keywords (:func:`filter_keywords`); empty when none was given.
    sample, seed, where
        How subjects are picked (``--sample``, ``--seed``, ``--where``).
    """

    filters: dict[str, Any] = field(default_factory=dict)
    sample: int | None = None
    seed: int = 0
    where: str | None = None

    @property
    def given(self) -> bool:
        """Whether any selection option was given."""
        return bool(self.filters) or self.sample is not None or self.where is not None

    def query(self) -> Query:
        """The filters as the library's one query value."""
        from ..bids._query import Query

        return Query.of(**self.filters)

    def selection(self, study: Study) -> Selection:
        """What the options select in ``study``: files, plus its dataset-level files."""
        from ..bids import selector

        return selector(study, sample=self.sample, seed=self.seed, where=self.where, **self.filters)


def bids_options(ctx: typer.Context) -> BidsOptions:
    """The BIDS selection options given to the command of ``ctx``."""
    raw = ctx.meta.get(_META, {})
    lists = {name: list(raw.get(name) or ()) or None for name in FILTERS}
    return BidsOptions(
        filter_keywords(**lists),
        sample=raw.get("sample"),
        seed=raw.get("seed") or 0,
        where=raw.get("where"),
    )


def print_selection(sel: Selection, *, verb: str = "selected") -> None:
    """One summary line: files, bytes and subjects of a selection."""
    subj = ", ".join(sel.subjects[:8]) + (" ..." if len(sel.subjects) > 8 else "")
    console.print(
        f"{verb}: {sel.count} files, {human_size(sel.size)} ({sel.size} bytes), "
        f"{len(sel.subjects)} subjects" + (f" [{escape(subj)}]" if sel.subjects else "")
    )


def selection_for_sync(
    src: str,
    dst: str,
    options: BidsOptions,
    *,
    check_valid: bool,
    force: bool,
    show: bool,
    settings: S3Settings,
) -> Selection | None:
    """The BIDS side of ``sync`` and ``status``: validate the source if asked, resolve a
    selective transfer and show its size before anything moves. ``None`` when no BIDS option
    was given."""
    if not options.given and not check_valid:
        return None
    from .._exceptions import ValidationError
    from ..bids import Study, validate

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
    if not options.given:
        return None
    sel = options.selection(study)
    if show:
        print_selection(sel, verb="selection")
    return sel
