"""publish, unpublish, access, share, doctor."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Annotated

import typer

from .._exceptions import BrainbucketError
from ._app import (
    JsonOpt,
    app,
    console,
    emit_json,
    escape,
    settings_for_cli,
)
from ._render import Column, print_table, to_terminal

if TYPE_CHECKING:
    from ..access import AccessStatus

# Features are imported by the commands that use them: `brainbucket --help` imports every
# command module, and must not pay for what none of them runs.

UrlArg = Annotated[str, typer.Argument(help="A bucket or prefix: s3://bucket/prefix.")]


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
    json_out: JsonOpt = False,
) -> None:
    """Make a prefix publicly readable and listable (bucket policy; other statements kept)."""
    from ..access import publish

    _show(publish(url, settings=settings_for_cli(anon=False, urls=[url])), json_out)


@app.command("unpublish")
def unpublish_cmd(
    url: UrlArg,
    json_out: JsonOpt = False,
) -> None:
    """Undo `publish` for a prefix."""
    from ..access import unpublish

    _show(unpublish(url, settings=settings_for_cli(anon=False, urls=[url])), json_out)


@app.command("access")
def access_cmd(
    url: UrlArg,
    json_out: JsonOpt = False,
) -> None:
    """Say whether a prefix is public (asks the server as an anonymous client)."""
    from ..access import is_public

    _show(is_public(url, settings=settings_for_cli(anon=False, urls=[url])), json_out)


@app.command("share")
def share_cmd(
    url: Annotated[str, typer.Argument(help="The object to share: s3://bucket/key.")],
    expires: Annotated[
        str, typer.Option("--expires", help="How long the link works: 30s, 15m, 1h, 7d (max).")
    ] = "1h",
    json_out: JsonOpt = False,
) -> None:
    """Print a presigned URL anyone can download the object from until it expires.

    With --json: the link, and when it expires as an ISO 8601 time in UTC.
    """
    from ..access import parse_duration, share

    lifetime = parse_duration(expires)
    # Taken before signing: the link lasts at least until the time reported.
    signed_at = datetime.now(timezone.utc).replace(microsecond=0)
    link = share(url, lifetime, settings=settings_for_cli(anon=False, urls=[url]))
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
    json_out: JsonOpt = False,
) -> None:
    """Which endpoint and credentials are used, and which request fails and why.

    Exits 0 when every request succeeded, 1 otherwise.
    """
    from ..access import doctor

    report = doctor(url, settings=settings_for_cli(anon="auto", urls=[url]))
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
                Column("", style=lambda mark: {"ok": "green", "n/a": "dim"}.get(mark, "bold red")),
                Column("request"),
                Column("answer"),
            ],
            [(c.mark, c.request, c.detail) for c in report.checks],
            header=False,
        )
        if report.capabilities:
            console.print("")  # what the server supports, and what brainbucket does instead
            print_table(
                [
                    Column("capability"),
                    Column("supported", style=lambda v: "" if v == "yes" else "yellow"),
                    Column("where missing, brainbucket"),
                ],
                [
                    (
                        name,
                        yn(row["supported"]),
                        "" if row["supported"] else row["where_missing"],
                    )
                    for name, row in report.capabilities.items()
                ],
            )
    if not report.ok:
        first = report.failed[0]
        msg = f"{len(report.failed)} of {len(report.checks)} requests failed; first: {first.request}: {first.detail}"
        raise BrainbucketError(
            msg, hint="the report above says which credentials and endpoint were used"
        )
