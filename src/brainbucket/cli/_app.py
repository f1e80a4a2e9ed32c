"""The Typer application, the options every command shares, and output helpers.

Every command module registers on :data:`app` from here; running the application (the error
→ exit-code boundary) is in ``_main``, which imports the registry of command modules. Keeping
the two apart lets ``_register`` import ``app`` without importing what imports it.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from ..store import S3Settings, Store

__all__ = [
    "GLOBAL_PANEL",
    "ROOT_VALUE_OPTIONS",
    "AnonOpt",
    "CliOptions",
    "EndpointOpt",
    "JsonOpt",
    "ProfileOpt",
    "announce_endpoint",
    "app",
    "cli_options",
    "console",
    "emit_json",
    "err_console",
    "escape",
    "open_for_cli",
    "open_object_for_cli",
    "real_console",
    "reset_options",
    "say_deferred_notice",
    "settings_for_cli",
]


class _LazyConsole:
    """A rich ``Console``, made on first use: loading rich's console costs a command that
    prints nothing through it (a quiet sync, ``cat``) a noticeable part of its start-up."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        """The console itself (for rich objects that take one, such as a progress bar)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


console = cast("Console", _LazyConsole(highlight=False, soft_wrap=True))
err_console = cast("Console", _LazyConsole(stderr=True, highlight=False, soft_wrap=True))


def real_console(lazy: Console) -> Console:
    """The console behind :data:`console` or :data:`err_console`, for rich objects that take
    one (a progress bar)."""
    return lazy.real if isinstance(lazy, _LazyConsole) else lazy


def escape(text: str) -> str:
    """``rich.markup.escape``, loaded on first use (see :class:`_LazyConsole`)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


GLOBAL_PANEL = "Global options"

# The options of the whole command line. Given before the command they are the root's; after
# it, each command accepts them too (see _RootGroup), and a command's own value wins.
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help="AWS profile to sign requests with, as written by `aws configure --profile NAME` "
        "(else AWS_PROFILE, else the default credential chain).",
        show_default=False,
        rich_help_panel=GLOBAL_PANEL,
    ),
]
AnonOpt = Annotated[
    bool,
    typer.Option(
        "--anon",
        help="Send unsigned requests, as anyone would: for public data, no credentials needed.",
        rich_help_panel=GLOBAL_PANEL,
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        metavar="URL",
        help="S3 server to talk to, for anything but AWS (else BRAINBUCKET_ENDPOINT_URL, else "
        "the AWS config's endpoint).",
        show_default=False,
        rich_help_panel=GLOBAL_PANEL,
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region",
        metavar="REGION",
        help="AWS region of the bucket (else the profile's, else us-east-1).",
        show_default=False,
        rich_help_panel=GLOBAL_PANEL,
    ),
]
RetryWindowOpt = Annotated[
    float | None,
    typer.Option(
        "--retry-window",
        metavar="SECONDS",
        min=0,
        help="How long to keep retrying when the server stops answering mid-command, as "
        "during a restart (else BRAINBUCKET_RETRY_WINDOW, else 60; 0: fail at once).",
        show_default=False,
        rich_help_panel=GLOBAL_PANEL,
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print results as JSON on stdout, for scripts, instead of text for people.",
        rich_help_panel=GLOBAL_PANEL,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print no progress and no notices; results and errors only.",
        rich_help_panel=GLOBAL_PANEL,
    ),
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Show the full traceback of an error (also BRAINBUCKET_DEBUG=1).",
        rich_help_panel=GLOBAL_PANEL,
    ),
]

# The root's options that take a value: the command word is the first argument after them
# (``_register`` finds it before anything is parsed).
ROOT_VALUE_OPTIONS = frozenset({"--profile", "--endpoint-url", "--region", "--retry-window"})


@dataclass
class CliOptions:
    """The global options of one command line, wherever they were given.

    Attributes
    ----------
    debug, quiet, json
        ``--debug``, ``--quiet``, ``--json``.
    profile, endpoint_url, region, anon
        ``--profile``, ``--endpoint-url``, ``--region``, ``--anon``: which server, and as
        whom (see :func:`settings_for_cli`).
    retry_window
        ``--retry-window``: how long to wait for a server that went away mid-command.
    """

    debug: bool = False
    quiet: bool = False
    json: bool = False
    profile: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    anon: bool = False
    retry_window: float | None = None


_options = CliOptions(debug=bool(os.environ.get("BRAINBUCKET_DEBUG")))
_announced = False  # this command line named its endpoint already
_deferred: str | None = None  # the endpoint line, said when the command ends (not a terminal)
_GLOBAL_NAMES = frozenset(f.name for f in fields(CliOptions))


def cli_options() -> CliOptions:
    """The global options of the command line being run (the command's own value wins)."""
    return _options


def reset_options() -> None:
    """Start a command line afresh: a ``--debug`` or ``--profile`` of an earlier run in the
    same process must not leak into the next."""
    global _options, _announced, _deferred
    _options = CliOptions(debug=bool(os.environ.get("BRAINBUCKET_DEBUG")))
    _announced = False
    _deferred = None


def _print_version(value: bool) -> None:
    if value:
        from .._version import __version__

        typer.echo(f"brainbucket {__version__}")
        raise typer.Exit


def _given(ctx: Any, param: Any) -> bool:
    """Whether the user typed this option (not its default)."""
    source = ctx.get_parameter_source(param.name)
    return getattr(source, "name", "") in ("COMMANDLINE", "ENVIRONMENT")


def _store(name: str) -> Callable[[Any, Any, Any], Any]:
    """Callback of a command's copy of a global option: a value given there wins."""

    def callback(ctx: Any, param: Any, value: Any) -> Any:
        if _given(ctx, param):
            setattr(_options, name, value)
        return value

    return callback


def _merged(name: str, inner: Callable[[Any, Any, Any], Any] | None) -> Callable[..., Any]:
    """Callback of a command's own option of a global option's name (``sync --quiet``,
    ``hcp ls --profile``): given there, it wins; else it takes the global value."""

    def callback(ctx: Any, param: Any, value: Any) -> Any:
        if inner is not None:
            value = inner(ctx, param, value)
        if _given(ctx, param):
            setattr(_options, name, value)
            return value
        return getattr(_options, name)

    return callback


def _share(command: Any, shared: list[Any]) -> None:
    """Let ``command`` (and every command of a group) accept the global options ``shared``.

    A command that declares an option of the same flag keeps its own (its help may say more);
    it only falls back to the global value. The others get a copy in the help's "Global
    options" panel, whose value the command reads through :func:`cli_options`.
    """
    own = {opt: p for p in command.params for opt in getattr(p, "opts", ())}
    last = []
    for option in shared:
        declared = next((own[o] for o in option.opts if o in own), None)
        if declared is not None:
            declared.callback = _merged(option.name, declared.callback)
            last.append(declared)
            continue
        extra = copy.copy(option)
        extra.name = f"global_{option.name}"
        extra.expose_value = False
        extra.callback = _store(option.name)
        extra.rich_help_panel = GLOBAL_PANEL
        last.append(extra)
    # The command's own options first, then the global ones in one order everywhere.
    command.params = [p for p in command.params if p not in last] + last
    for sub in (getattr(command, "commands", None) or {}).values():
        _share(sub, shared)


class _RootGroup(typer.core.TyperGroup):
    """The ``brainbucket`` command: its global options are also accepted after any command,
    as aws-cli's and git's users expect (``brainbucket ls s3://b --profile lab``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shared = [p for p in self.params if p.name in _GLOBAL_NAMES]
        assert len(shared) == len(_GLOBAL_NAMES), "every field of CliOptions is a root option"
        for command in self.commands.values():
            _share(command, shared)


app = typer.Typer(
    name="brainbucket",
    cls=_RootGroup,
    help="Share neuroimaging studies on S3-compatible object storage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print brainbucket's version and exit.",
        ),
    ] = False,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    region: RegionOpt = None,
    anon: AnonOpt = False,
    retry_window: RetryWindowOpt = None,
) -> None:
    _options.debug = debug or _options.debug
    _options.retry_window = retry_window
    _options.quiet, _options.json, _options.anon = quiet, json, anon
    _options.profile, _options.endpoint_url, _options.region = profile, endpoint_url, region


AnonMode = bool | None | Literal["option", "auto"]


def settings_for_cli(
    profile: str | None = None,
    anon: AnonMode = "option",
    endpoint_url: str | None = None,
    *,
    urls: Iterable[object] = (),
) -> S3Settings:
    """The one settings value of this command line.

    When one of ``urls`` is in a bucket and the server is not AWS, says which server it is
    and why, once per command (see :func:`announce_endpoint`).

    Parameters
    ----------
    profile, endpoint_url
        A command's own values; else ``--profile`` and ``--endpoint-url`` (given before or
        after the command); ``--region`` always comes from the command line.
    anon
        ``"option"``: unsigned with ``--anon``, else signed. ``"auto"``: unsigned with
        ``--anon``, else exactly when no credentials are found. ``True``/``False``/``None``:
        as given (a command that always signs passes ``False``).
    urls
        The locations the command is about to talk to.
    """
    opts = _options
    if anon == "option":
        anon = opts.anon
    elif anon == "auto":
        anon = True if opts.anon else None
    from ..store import S3Settings

    settings = S3Settings.from_options(
        profile=profile or opts.profile,
        anon=anon,
        endpoint_url=endpoint_url or opts.endpoint_url,
        region=opts.region,
        retry_window=opts.retry_window,
        on_wait=_say_waiting,
    )
    if any(_in_a_bucket(u) for u in urls):
        announce_endpoint(settings)
    return settings


def _say_waiting(line: str) -> None:
    """Say on stderr that the command waits for its server (told once per outage by the
    store, from whichever thread met it), unless ``--quiet``."""
    if not _options.quiet:
        err_console.print(f"brainbucket: {line}", markup=False)


def _in_a_bucket(url: object) -> bool:
    from .._exceptions import BrainbucketError
    from .._url import StoreURL, parse_url
    from ..store import Store

    if isinstance(url, Store):
        return isinstance(url.url, StoreURL) and url.url.is_s3
    try:
        return (url if isinstance(url, StoreURL) else parse_url(url)).is_s3  # type: ignore[arg-type]
    except (BrainbucketError, TypeError, ValueError):
        return False  # the command itself says what is wrong with it


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def announce_endpoint(settings: S3Settings) -> None:
    """Say on stderr which server a command talks to, when it is not AWS, and which setting
    named it — without a secret — once per command, unless ``--quiet``.

    A forgotten ``BRAINBUCKET_ENDPOINT_URL`` or a profile's ``endpoint_url`` must not send a
    command silently elsewhere. At a terminal (or with ``--debug``) the line comes first,
    before anything is sent. When stderr is not a terminal it comes last (see
    :func:`say_deferred_notice`), so that the first line a script or log reads is still the
    command's own message or error.
    """
    global _announced, _deferred
    if _announced or _options.quiet:
        return
    from .._exceptions import BrainbucketError
    from ..store import endpoint_origin

    try:
        origin = endpoint_origin(settings)
    except BrainbucketError:
        return  # a missing profile: the command reports it
    _announced = True
    if origin is None or origin.is_aws:
        return
    if not origin.display.lower().startswith(("http://", "https://")):
        return  # not a URL the clients take: the command says so, and echoes none of it
    where = "--endpoint-url" if origin.source == "settings" else origin.source
    if _options.debug or _stderr_is_terminal():
        err_console.print(
            f"brainbucket: using endpoint {origin.display} (from {where})", markup=False
        )
    else:
        _deferred = f"brainbucket: used endpoint {origin.display} (from {where})"


def say_deferred_notice() -> None:
    """Print the endpoint line held back until the command ended (see
    :func:`announce_endpoint`)."""
    global _deferred
    if _deferred is not None:
        line, _deferred = _deferred, None
        try:
            err_console.print(line, markup=False)
        except (BrokenPipeError, OSError):
            pass  # nobody is reading stderr any more


def open_for_cli(
    url: str,
    profile: str | None = None,
    anon: AnonMode = "option",
    endpoint_url: str | None = None,
) -> Store:
    """``open_store`` with this command line's settings (see :func:`settings_for_cli`); a
    snapshot URL is refused (:func:`~brainbucket._refs.refuse_snapshot`)."""
    from .._refs import refuse_snapshot
    from ..store import open_store

    refuse_snapshot(url)
    return open_store(url, settings=settings_for_cli(profile, anon, endpoint_url, urls=[url]))


def open_object_for_cli(
    url: str,
    profile: str | None = None,
    anon: AnonMode = "option",
    endpoint_url: str | None = None,
) -> tuple[Store, str]:
    """``split_object_url`` with this command line's settings (see :func:`settings_for_cli`)."""
    from .._refs import refuse_snapshot
    from ..store import split_object_url

    refuse_snapshot(url)
    settings = settings_for_cli(profile, anon, endpoint_url, urls=[url])
    return split_object_url(url, settings=settings)


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
