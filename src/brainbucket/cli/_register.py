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

from collections.abc import Sequence
from importlib import import_module

from ._app import ROOT_VALUE_OPTIONS, app

__all__ = ["COMMANDS", "GROUPS", "load"]

GROUPS = (
    "_browse",
    "_serve",
    "_bids",
    "_sync",
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


def load(argv: Sequence[str] | None) -> None:
    """Register the command ``argv`` names, or every command when it names none we know."""
    name = _command_name(argv or ())
    if name is None and "--version" in (argv or ()):
        return  # answered by the root alone
    module = COMMANDS.get(name) if name is not None else None
    if module is not None:
        import_module(f"{__package__}.{module}")
        return
    for group in GROUPS:
        import_module(f"{__package__}.{group}")
    rank = {group: i for i, group in enumerate(GROUPS)}

    def order(registered_name: str | None) -> int:
        return rank.get(COMMANDS.get(registered_name or "", ""), len(rank))

    app.registered_commands.sort(key=lambda info: order(info.name))
    app.registered_groups.sort(key=lambda info: order(info.name))
