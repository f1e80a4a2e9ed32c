"""Import the command modules a command line needs, so their commands register on the app.

One name per command group: adding a feature means adding its module here, and its commands
to ``COMMANDS``. The order of ``GROUPS`` is the order ``brainbucket --help`` lists them in —
the everyday commands first.

Running one command imports only its own module: ``brainbucket sync`` does not pay for the
HCP, assembly or server code. Help, an unknown command or no command at all imports every
module, and the commands are then put back in ``GROUPS`` order, whatever ran before in the
same process.

Examples
--------
>>> sorted({COMMANDS[c] for c in ("sync", "status", "verify")})
['_sync']
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from types import ModuleType
from typing import Any

from ._app import ROOT_VALUE_OPTIONS, app

__all__ = ["COMMANDS", "GROUPS", "load"]

GROUPS = (
    "_browse",
    "_serve",
    "_bids",
    "_sync",
    "_snapshots",
    "_history",
    "_mirror",
    "_hcp",
    "_assembly",
    "_access",
)

# Every top-level command and command group, and the module that defines it.
COMMANDS = {
    **dict.fromkeys(("ls", "tree", "du", "mb", "cp", "cat", "rm"), "_browse"),
    **dict.fromkeys(("serve", "quickstart"), "_serve"),
    **dict.fromkeys(("validate", "study"), "_bids"),
    **dict.fromkeys(("sync", "status", "verify"), "_sync"),
    **dict.fromkeys(("tag", "tags"), "_snapshots"),
    **dict.fromkeys(("log", "diff"), "_history"),
    **dict.fromkeys(("get", "mirror"), "_mirror"),
    "hcp": "_hcp",
    "assembly": "_assembly",
    **dict.fromkeys(("publish", "unpublish", "access", "share", "doctor"), "_access"),
}


def _command_name(argv: Sequence[str]) -> str | None:
    """The command word: the first argument that is neither an option of the root nor the
    value of one (``brainbucket --profile lab ls``).

    Examples
    --------
    >>> _command_name(["--debug", "--profile", "lab", "ls", "s3://b"])
    'ls'
    """
    values = iter(argv)
    for arg in values:
        if arg == "--":
            return None
        if arg in ROOT_VALUE_OPTIONS:
            next(values, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _asks_for_help(argv: Sequence[str]) -> bool:
    for arg in argv:
        if arg == "--":
            return False
        if arg in ("-h", "--help"):
            return True
    return not argv or (len(argv) == 1 and argv[0] in ("mirror", "hcp", "assembly"))


class _StandIn(type):
    """A class standing in for a rich class until first used (see :func:`_help_renderer`):
    calling it, or reading any of its attributes, loads the real one."""

    _module: str

    def _real(cls) -> Any:
        return getattr(import_module(cls._module), cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, attr: str) -> Any:
        return getattr(cls._real(), attr)


def _help_renderer() -> None:
    """Import typer's help renderer without the two modules of rich it imports but does not
    use here: Markdown (help in markdown markup) and Traceback (typer's pretty exceptions,
    turned off). Loading them — a Markdown parser and a syntax highlighter — was about 40% of
    `brainbucket --help`. Stand-ins take their place while the renderer is imported, and
    load the real class if it is ever used; the real modules import as usual afterwards.
    """
    if "typer.rich_utils" in sys.modules:
        return
    stand_ins = {}
    for module, name in (("rich.markdown", "Markdown"), ("rich.traceback", "Traceback")):
        if module not in sys.modules:
            stand_in = ModuleType(module)
            setattr(stand_in, name, _StandIn(name, (), {"_module": module}))
            stand_ins[module] = stand_in
    sys.modules.update(stand_ins)
    try:
        import_module("typer.rich_utils")
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


def load(argv: Sequence[str] | None) -> None:
    """Register the command ``argv`` names, or every command when it names none we know."""
    if _asks_for_help(argv or ()):
        _help_renderer()
    name = _command_name(argv or ())
    if name is None and "--version" in (argv or ()):
        return  # answered by the root alone
    module = COMMANDS.get(name) if name is not None else None
    if module is not None:
        import_module(f"{__package__}.{module}")
        _resolve_annotations()
        return
    for group in GROUPS:
        import_module(f"{__package__}.{group}")
    rank = {group: i for i, group in enumerate(GROUPS)}

    def order(registered_name: str | None) -> int:
        return rank.get(COMMANDS.get(registered_name or "", ""), len(rank))

    app.registered_commands.sort(key=lambda info: order(info.name))
    app.registered_groups.sort(key=lambda info: order(info.name))
    _resolve_annotations()


def _resolve_annotations() -> None:
    """Evaluate the annotations of every registered command once.

    The command modules postpone their annotations (``from __future__ import annotations``),
    and Typer reads each command's twice while it builds the command line, evaluating every
    one each time: two thirds of building it for ``brainbucket --help``. Evaluated here once,
    exactly as Typer would, they are then read as they are.
    """
    import typing

    callbacks = [app.registered_callback.callback] if app.registered_callback else []
    callbacks += [info.callback for info in app.registered_commands]
    for group in app.registered_groups:
        if group.typer_instance is not None:
            callbacks += [info.callback for info in group.typer_instance.registered_commands]
    for callback in callbacks:
        if callback is not None and any(
            isinstance(a, str) for a in getattr(callback, "__annotations__", {}).values()
        ):
            callback.__annotations__ = typing.get_type_hints(callback, include_extras=True)
