"""The Typer application, the options every command shares, and output helpers.

Every command module registers on :data:`app` from here; running the application (the error
→ exit-code boundary) is in ``_main``, which imports the registry of command modules. Keeping
the two apart lets ``_register`` import ``app`` without importing what imports it.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

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

# Whether errors show their traceback: set by ``--debug`` (or BRAINBUCKET_DEBUG), read by
# ``_main.run`` when a command fails.
_state: dict[str, Any] = {"debug": bool(os.environ.get("BRAINBUCKET_DEBUG"))}


def _print_version(value: bool) -> None:
    if value:
        from .._version import __version__

        typer.echo(f"brainbucket {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print brainbucket's version and exit.",
        ),
    ] = False,
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
