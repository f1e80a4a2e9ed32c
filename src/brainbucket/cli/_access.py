"""publish, unpublish, access, share, doctor."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import typer
from rich.markup import escape

from .._exceptions import BrainbucketError
from ..access import AccessStatus, doctor, is_public, parse_duration, publish, share, unpublish
from ._app import (
    AnonOpt,
    EndpointOpt,
    JsonOpt,
    ProfileOpt,
    app,
    console,
    emit_json,
    settings_for_cli,
)
from ._render import Column, print_table, to_terminal

UrlArg = Annotated[str, typer.Argument(help="s3://bucket/prefix")]


def _show(status: AccessStatus, json_out: bool) -> None:
    if json_out:
        emit_json(status.to_dict())
        return
    if not to_terminal():
        # For scripts: `brainbucket access URL | cut -f2` is public or private.
        print_table(
            ["url", "access", "anonymous listing"],
            [
                (
                    status.url,
                    "public" if status.public else "private",
                    "yes" if status.listable else "no",
                )
            ],
        )
    elif status.public:
        how = (
            "anyone may read" + (" and list" if status.listable else "") + " it without credentials"
        )
        console.print(f"{escape(status.url)}: [bold]public[/] — {how}")
    else:
        console.print(f"{escape(status.url)}: [bold]private[/] — reading needs credentials")


@app.command("publish")
def publish_cmd(
    url: UrlArg,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Make a prefix publicly readable and listable (bucket policy; other statements kept)."""
    _show(publish(url, settings=settings_for_cli(profile, False, endpoint_url)), json_out)


@app.command("unpublish")
def unpublish_cmd(
    url: UrlArg,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Undo `publish` for a prefix."""
    _show(unpublish(url, settings=settings_for_cli(profile, False, endpoint_url)), json_out)


@app.command("access")
def access_cmd(
    url: UrlArg,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Say whether a prefix is public (asks the server as an anonymous client)."""
    _show(is_public(url, settings=settings_for_cli(profile, False, endpoint_url)), json_out)


@app.command("share")
def share_cmd(
    url: Annotated[str, typer.Argument(help="s3://bucket/key of one object")],
    expires: Annotated[
        str, typer.Option("--expires", help="How long the link works: 30s, 15m, 1h, 7d (max).")
    ] = "1h",
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Print a presigned URL anyone can download the object from until it expires.

    With --json: the link, and when it expires as an ISO 8601 time in UTC.
    """
    lifetime = parse_duration(expires)
    # Taken before signing: the link lasts at least until the time reported.
    signed_at = datetime.now(timezone.utc).replace(microsecond=0)
    link = share(url, lifetime, settings=settings_for_cli(profile, False, endpoint_url))
    if json_out:
        emit_json(
            {
                "url": url,
                "expires": (signed_at + lifetime).isoformat(),
                "expires_in": int(lifetime.total_seconds()),
                "link": link,
            }
        )
    else:
        typer.echo(link)


@app.command("doctor")
def doctor_cmd(
    url: UrlArg,
    profile: ProfileOpt = None,
    anon: AnonOpt = False,
    endpoint_url: EndpointOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Which endpoint and credentials are used, and which request fails and why.

    Exits 0 when every request succeeded, 1 otherwise.
    """
    report = doctor(url, settings=settings_for_cli(profile, True if anon else None, endpoint_url))
    if json_out:
        emit_json(report.to_dict())
    else:

        def yn(v: bool | None) -> str:
            return "unknown" if v is None else ("yes" if v else "no")

        print_table(
            [Column("field", right=True), Column("value")],
            [
                ("url", report.url),
                ("endpoint", report.endpoint),
                ("profile", report.profile or "(default chain)"),
                ("credentials", report.credential_source),
                ("access key id", report.access_key_id),
                ("identity", report.identity),
                ("bucket exists", yn(report.bucket_exists)),
                ("versioned", yn(report.versioned)),
                ("public", yn(report.public)),
            ],
            header=False,
        )
        console.print("")  # the requests, apart from the settings
        print_table(
            [
                Column("", style=lambda mark: "green" if mark == "ok" else "bold red"),
                Column("request"),
                Column("answer"),
            ],
            [("ok" if c.ok else "FAIL", c.request, c.detail) for c in report.checks],
            header=False,
        )
    if not report.ok:
        first = report.failed[0]
        msg = f"{len(report.failed)} of {len(report.checks)} requests failed; first: {first.request}: {first.detail}"
        raise BrainbucketError(
            msg, hint="the report above says which credentials and endpoint were used"
        )
