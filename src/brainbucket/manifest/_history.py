"""Who and when, as a manifest root and a tag record them."""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

from .._config import Config
from ..store import Store

__all__ = ["author", "now"]


def now() -> str:
    """The current UTC time, ISO 8601 with microseconds (sorts as it reads)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def author(store: Store, config: Config | None = None) -> str:
    """``BRAINBUCKET_AUTHOR``, else the login name and the credentials' key id.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> author(open_store(tempfile.mkdtemp()), Config(author="ana"))
    'ana'
    """
    config = config or Config()
    if config.author:
        return config.author
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        login = "unknown"
    key = store.credentials().access_key_id  # known locally: no request
    return f"{login} (key {key})" if key else login
