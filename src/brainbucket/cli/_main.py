"""Running the command line: register the commands it names, then the error → exit-code
boundary.

The CLI is the only place that prints. Library errors become one line on stderr plus a hint,
and the process exits with the error's documented code; no traceback unless ``--debug``.
"""

from __future__ import annotations

import os
import sys

import typer

from .._exceptions import BrainbucketError
from .._paths import printable
from . import _register
from ._app import app, cli_options, err_console, escape, reset_options, say_deferred_notice

__all__ = ["EXIT_INTERNAL", "EXIT_INTERRUPTED", "main", "run"]

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
_INTERRUPTED = "interrupted: no partial file was left under a real name; re-run to resume"


def _report(exc: BrainbucketError) -> int:
    # Messages quote keys, which are untrusted: no markup, no control characters.
    message = escape(printable(exc.message))
    err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    if exc.hint:
        err_console.print(f"[dim]hint:[/] {escape(exc.hint)}", markup=True, highlight=False)
    return exc.exit_code


def _usage_errors() -> type[Exception]:
    """The command-line parser's usage-error class: typer's own, or click's in older typers.

    Typer once built on click and now carries its own copy of it; importing click as well
    would cost start-up time and catch nothing.
    """
    own = getattr(typer, "TyperException", None)
    if own is not None:
        return own  # type: ignore[no-any-return]
    import click

    return click.ClickException


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (never raises)."""
    try:
        return _run(argv)
    finally:
        say_deferred_notice()


def _run(argv: list[str] | None) -> int:
    _register.load(sys.argv[1:] if argv is None else argv)

    # Each run starts from the environment: a --debug of an earlier run in the same process
    # must not turn every later error into a traceback.
    reset_options()

    try:
        rv = app(args=argv, standalone_mode=False, prog_name="brainbucket")
        # Typer turns Ctrl-C into an exit code returned here (not raised) when not standalone.
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            if rv == EXIT_INTERRUPTED:
                err_console.print(_INTERRUPTED)
            return rv
    except BrainbucketError as exc:
        if cli_options().debug:
            err_console.print_exception()
        return _report(exc)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err_console.print("aborted")
        return EXIT_INTERRUPTED
    except _usage_errors() as exc:  # unknown command or option, missing or bad argument
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt:
        err_console.print(_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if cli_options().debug:
            err_console.print_exception()
        else:
            err_console.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}", markup=True
            )
            err_console.print(
                "[dim]hint:[/] re-run with --debug for the traceback and report it", markup=True
            )
        return EXIT_INTERNAL
    return 0


def main() -> None:
    """Console entry point.

    Leaves through ``os._exit`` after flushing: the Rust data-path library occasionally aborts
    during interpreter shutdown *after* all work is done, which would turn success into exit
    134.
    """
    code = run(sys.argv[1:])
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
