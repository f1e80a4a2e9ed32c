"""The Typer application, shared options, output helpers and the error → exit-code boundary.

The CLI is the only place that prints. Library errors become one line on stderr plus a hint,
and the process exits with the error's documented code; no traceback unless ``--debug``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from .._exceptions import BrainbucketError
from .._paths import printable
from ..store import S3Settings, Store, open_store, split_object_url

__all__ = [
    "AnonOpt",
    "EndpointOpt",
    "JsonOpt",
    "ProfileOpt",
    "app",
    "console",
    "emit_json",
    "err_console",
    "main",
    "open_for_cli",
    "open_object_for_cli",
]

app = typer.Typer(
    name="brainbucket",
    help="Share neuroimaging studies on S3-compatible object storage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="AWS profile (as written by `aws configure --profile NAME`).",
        show_default=False,
    ),
]
AnonOpt = Annotated[bool, typer.Option("--anon", help="Unsigned requests, for public data.")]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="S3 endpoint (else BRAINBUCKET_ENDPOINT_URL, else the AWS config's endpoint_url).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]

EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
_INTERRUPTED = "interrupted: no partial file was left under a real name; re-run to resume"

_state: dict[str, Any] = {"debug": bool(os.environ.get("BRAINBUCKET_DEBUG"))}


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    if debug:
        _state["debug"] = True


def settings_for_cli(
    profile: str | None = None, anon: bool | None = False, endpoint_url: str | None = None
) -> S3Settings:
    """The one settings value of a command's ``--profile``, ``--anon`` and ``--endpoint-url``."""
    return S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)


def open_for_cli(
    url: str, profile: str | None = None, anon: bool = False, endpoint_url: str | None = None
) -> Store:
    """``open_store`` with the CLI's common options."""
    return open_store(url, settings=settings_for_cli(profile, anon, endpoint_url))


def open_object_for_cli(
    url: str, profile: str | None = None, anon: bool = False, endpoint_url: str | None = None
) -> tuple[Store, str]:
    return split_object_url(url, settings=settings_for_cli(profile, anon, endpoint_url))


def emit_json(obj: Any) -> None:
    """Write one JSON document (or JSON line) to stdout."""
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")


def human_size(n: float) -> str:
    """Examples
    --------
    >>> human_size(1536)
    '1.5 KiB'
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


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
    from . import _register

    _register.load(sys.argv[1:] if argv is None else argv)

    # Each run starts from the environment: a --debug of an earlier run in the same process
    # must not turn every later error into a traceback.
    _state["debug"] = bool(os.environ.get("BRAINBUCKET_DEBUG"))

    try:
        rv = app(args=argv, standalone_mode=False, prog_name="brainbucket")
        # Typer turns Ctrl-C into an exit code returned here (not raised) when not standalone.
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            if rv == EXIT_INTERRUPTED:
                err_console.print(_INTERRUPTED)
            return rv
    except BrainbucketError as exc:
        if _state["debug"]:
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
        if _state["debug"]:
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
