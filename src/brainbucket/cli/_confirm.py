"""Asking before something large or irreversible: "no" is an answer, not an interruption.

Declining exits 1 and says that nothing was done; Ctrl-C at the prompt stays an interruption
(exit 130), as anywhere else.
"""

from __future__ import annotations

import typer

from ._app import err_console

__all__ = ["DECLINED", "confirm"]

DECLINED = 1


def confirm(question: str, *, nothing: str) -> None:
    """Ask ``question`` (default no); on "no", print ``nothing`` and exit :data:`DECLINED`."""
    if not typer.confirm(question, default=False):
        err_console.print(nothing, markup=False, highlight=False)
        raise typer.Exit(DECLINED)
