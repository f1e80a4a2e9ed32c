"""Tables and trees: drawn for a person at a terminal, plain text for a pipe.

Every table the command line prints goes through :func:`print_table`. At a terminal it is
aligned columns with a header, sizes and times written for people, and a value too wide for
the screen folds onto the next line rather than being cut. Anywhere else (a pipe, a file)
it is one tab-separated line per row, without a header or colours, every value whole: ids in
full, sizes in bytes, times in ISO 8601 — what ``cut``, ``sort`` and ``awk`` need. Tabs and
other control characters inside values are escaped (``\\t``), so a row is always one line and
its fields are always where the columns say.

Examples
--------
>>> from brainbucket.cli._app import human_size
>>> print_table([Column("path"), Column("size", right=True, human=human_size)],
...             [("sub-01/", 2048)], footer=("total", 2048))
sub-01/	2048
total	2048
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._paths import printable
from .._types import FolderInfo
from ._app import console

if TYPE_CHECKING:
    from .._types import ListEntry
    from ..store._views import ListingViews

__all__ = ["Column", "print_table", "to_terminal", "tree_lines"]


def to_terminal() -> bool:
    """Whether standard output is a terminal (a person reads it) rather than a pipe or a file.

    Asked of the stream itself, not of rich: ``FORCE_COLOR`` (set by many CI systems) asks
    for colours, not for a layout scripts cannot parse.
    """
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Parameters
    ----------
    header
        Its name, shown at a terminal.
    right
        Right-aligned at a terminal (numbers).
    human
        How a person sees a value (``human_size``, a short digest); a pipe gets the value
        itself.
    style
        The rich style of a value at a terminal (``"bold red"``), or ``None``.
    piped
        Whether a pipe gets this column at all (``False`` for a column that only repeats
        another for people, such as a size in KiB beside the bytes).
    """

    header: str
    right: bool = False
    human: Callable[[Any], str] | None = None
    style: Callable[[Any], str | None] | None = None
    piped: bool = True


def _plain(value: Any) -> str:
    """A value as a pipe gets it: whole, machine-readable, one line."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return printable(str(value))


def _for_people(column: Column, value: Any) -> str:
    if value is None:
        return "-"
    if column.human is not None:
        return printable(column.human(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return printable(str(value))


def print_table(
    columns: Sequence[Column | str],
    rows: Iterable[Sequence[Any]],
    *,
    footer: Sequence[Any] | None = None,
    header: bool = True,
) -> None:
    """Print a table to standard output: aligned at a terminal, tab-separated elsewhere.

    Parameters
    ----------
    columns
        The columns, or plain names for columns without special handling.
    rows
        One sequence of values per row, in column order. Values are raw (bytes as ``int``,
        times as ``datetime``, ``None`` for "unknown"); each column says how people see them.
    footer
        A last row set apart at a terminal (bold), such as a total; a pipe gets it as a row.
    header
        Whether a terminal shows the column names (key/value listings do without).
    """
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    if not to_terminal():
        keep = [i for i, c in enumerate(cols) if c.piped]
        out = sys.stdout
        for row in rows:
            out.write("\t".join(_plain(row[i]) for i in keep) + "\n")
        if footer is not None:
            out.write("\t".join(_plain(footer[i]) for i in keep) + "\n")
        return
    # Imported here: a pipe never pays for rich's table layout.
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=header, show_edge=False, box=None, header_style="bold")
    for c in cols:
        table.add_column(c.header, justify="right" if c.right else "left", overflow="fold")

    def cells(row: Sequence[Any]) -> list[Text]:
        # Text, not markup: values hold keys, which are untrusted.
        return [
            Text(_for_people(c, v), style=(c.style(v) if c.style else None) or "")
            for c, v in zip(cols, row, strict=True)
        ]

    for row in rows:
        table.add_row(*cells(row))
    if footer is not None:
        table.add_row(*cells(footer), style="bold")
    console.print(table)


def tree_lines(
    store: ListingViews, depth: int, *, hide: Callable[[ListEntry], bool] | None = None
) -> Iterator[tuple[str, ListEntry]]:
    """The entries of ``store`` down to ``depth`` folder levels, each with the branch drawn
    before its name (``├── ``, ``└── ``, and ``│   `` below a folder with more to come).
    Entries for which ``hide`` is true are left out, with everything below them.

    Each listing is read one entry ahead, to know whether an entry is the last of its folder
    before its own children are drawn; nothing else is held, so a large tree streams.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> for p in ("sub-01/anat/T1w.nii", "sub-02/dwi.nii", "README"):
    ...     _ = store.write_bytes(p, b"x")
    >>> for branch, entry in tree_lines(store, depth=3):
    ...     print(branch + entry.path.rsplit("/", 2)[-2 if entry.is_dir else -1])
    ├── README
    ├── sub-01
    │   └── anat
    │       └── T1w.nii
    └── sub-02
        └── dwi.nii
    """

    def visit(path: str, level: int, indent: str) -> Iterator[tuple[str, ListEntry]]:
        entries = (e for e in store.ls(path) if hide is None or not hide(e))
        entry = next(entries, None)
        while entry is not None:
            following = next(entries, None)
            last = following is None
            yield indent + ("└── " if last else "├── "), entry
            if isinstance(entry, FolderInfo) and level + 1 < depth:
                yield from visit(entry.path, level + 1, indent + ("    " if last else "│   "))
            entry = following

    yield from visit("", 0, "")
