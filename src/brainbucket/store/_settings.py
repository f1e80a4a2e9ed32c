"""Which server, and as whom: one value built where the user's input enters.

The command line (``--profile``, ``--endpoint-url``, ``--anon``, ``--region``) and the Python
API (the same keyword arguments) build one :class:`S3Settings` and hand it down. Nothing below
reads those options again; the store's session turns the value into an endpoint and
credentials, in one place (:class:`~brainbucket.store._session.Session`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["S3Settings", "backoff_delay", "retries", "retry_window"]


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3 endpoint.

    Attributes
    ----------
    endpoint_url
        Explicit endpoint (``--endpoint-url``, or ``BRAINBUCKET_ENDPOINT_URL`` when built by
        :meth:`from_options`); else the AWS config's ``endpoint_url`` (of the profile, its
        ``services`` section, or ``AWS_ENDPOINT_URL``); else AWS itself.
    profile
        AWS profile name (``--profile``); else the chain's default (``AWS_PROFILE``...).
    anon
        ``True``: unsigned requests, for public data. ``False``: signed with the credentials
        the chain finds. ``None``: unsigned exactly when the chain finds no credentials, so a
        public dataset reads without any set-up and a private one says "private" once.
    region
        Region; else the profile's, else ``us-east-1``.
    access_key, secret_key
        Keys given explicitly (a program's own, such as the embedded server's); else the
        credential chain's (environment, profile, AWS files, roles...). The secret never
        appears in a repr.
    retries
        How many times a failed request is tried again; else ``BRAINBUCKET_RETRIES`` (5).
    retry_window
        Seconds a command waits for a server that stops answering after it first answered
        (a restart): refused or reset connections are retried that long; else
        ``BRAINBUCKET_RETRY_WINDOW`` (60). ``0``: fail after the clients' own retries.
    on_wait
        Told, in one line for a person, when a command starts waiting for its server (the
        command line prints it on stderr); ``None``: nobody is told.
    endpoint_source
        Where :attr:`endpoint_url` came from when it was not given directly
        (``BRAINBUCKET_ENDPOINT_URL``, set by :meth:`from_options`), so a program can say
        which server it talks to and why.

    Examples
    --------
    >>> S3Settings.from_options(profile="lab", environ={}).profile
    'lab'
    >>> S3Settings.from_options(environ={"BRAINBUCKET_ENDPOINT_URL": "http://127.0.0.1:9"}).endpoint_url
    'http://127.0.0.1:9'
    """

    endpoint_url: str | None = None
    profile: str | None = None
    anon: bool | None = False
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    retries: int | None = None
    endpoint_source: str | None = field(default=None, compare=False)
    retry_window: float | None = None
    on_wait: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    @property
    def tries(self) -> int:
        """Retries of a failed request: :attr:`retries`, else ``BRAINBUCKET_RETRIES``."""
        return self.retries if self.retries is not None else retries()

    @property
    def window(self) -> float:
        """Seconds to ride through an outage: :attr:`retry_window`, else
        ``BRAINBUCKET_RETRY_WINDOW``."""
        return self.retry_window if self.retry_window is not None else retry_window()

    @classmethod
    def from_options(
        cls,
        *,
        profile: str | None = None,
        anon: bool | None = False,
        endpoint_url: str | None = None,
        region: str | None = None,
        retry_window: float | None = None,
        on_wait: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> S3Settings:
        """The settings for a user's options: an endpoint not given comes from
        ``BRAINBUCKET_ENDPOINT_URL``, read here and nowhere else."""
        env = os.environ if environ is None else environ
        source = None
        endpoint = endpoint_url or None
        if endpoint is None and env.get("BRAINBUCKET_ENDPOINT_URL"):
            endpoint, source = env["BRAINBUCKET_ENDPOINT_URL"], "BRAINBUCKET_ENDPOINT_URL"
        return cls(
            endpoint_url=endpoint,
            profile=profile or None,
            anon=anon,
            region=region,
            endpoint_source=source,
            retry_window=retry_window,
            on_wait=on_wait,
        )

    def __repr__(self) -> str:  # keys never live here, but keep the repr short anyway
        return (
            f"S3Settings(endpoint_url={self.endpoint_url!r}, profile={self.profile!r}, "
            f"anon={self.anon!r})"
        )


def retries() -> int:
    """How many times a failed request is tried again (``BRAINBUCKET_RETRIES``, default 5)."""
    raw = os.environ.get("BRAINBUCKET_RETRIES", "").strip()
    return int(raw) if raw.isdigit() else 5


def retry_window() -> float:
    """Seconds to ride through a server that went away (``BRAINBUCKET_RETRY_WINDOW``,
    default 60: long enough for a server to restart)."""
    raw = os.environ.get("BRAINBUCKET_RETRY_WINDOW", "").strip()
    try:
        return max(0.0, float(raw)) if raw else 60.0
    except ValueError:
        return 60.0


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): exponential, full jitter.

    The same curve as the data path's own retries (100 ms doubling, capped at 8 s); the jitter
    keeps many clients that failed together from retrying together.
    """
    return random.uniform(0, min(8.0, 0.1 * 2 ** (attempt - 1)))
