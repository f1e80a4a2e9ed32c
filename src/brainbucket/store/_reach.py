"""Failing fast when nobody answers at the endpoint, and saying which endpoint that is.

The clients retry a failed connection with backoff (obstore ~1 s over its five retries,
boto3 likewise), which is right once a server has answered: it may be restarting. Before the
first answer, a refused connection almost always means a wrong endpoint or a server that is not
running, and a user waits for every retry of every request the command would have sent (an
``ls`` took ~7 s). So before a store's first request, one TCP connection is tried: a refusal is
retried for at most :data:`REFUSED_WINDOW` (a server just starting), then reported; an unknown
host or a connection that times out is reported at once. After one success the session that
asked remembers it and never probes again (each store has its own session: a long-running
program that meets a new server at an old address probes it afresh).

Messages name the endpoint without what may be secret in it (``user:password@``, a query).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import time
import urllib.parse

from .._exceptions import EndpointError
from ._errors import unreachable

__all__ = ["REFUSED_WINDOW", "endpoint_hint", "is_local", "probe"]

# How long a refused connection is tried again before the first answer (seconds).
REFUSED_WINDOW = 1.0


def is_local(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``).

    Examples
    --------
    >>> is_local("127.0.0.1"), is_local("localhost"), is_local("s3.amazonaws.com")
    (True, True, False)
    """
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def endpoint_hint(endpoint: str, source: str | None) -> str:
    """What to try when ``endpoint`` cannot be reached.

    ``source`` is the setting that named it, as :class:`~brainbucket.store._session.EndpointOrigin`
    says (``"settings"`` for ``--endpoint-url``), or ``None`` when only boto3 knew.

    Examples
    --------
    >>> endpoint_hint("http://127.0.0.1:9000", "BRAINBUCKET_ENDPOINT_URL")
    'is the server running? Start one with `brainbucket serve`, or fix BRAINBUCKET_ENDPOINT_URL'
    >>> endpoint_hint("https://s3.example.org", "profile lab's endpoint_url")
    "check the network connection and profile lab's endpoint_url"
    >>> endpoint_hint("https://s3.us-east-1.amazonaws.com", "AWS")
    'check the network connection (and HTTPS_PROXY, if this network needs a proxy)'
    """
    if source == "settings":
        where = "--endpoint-url"
    elif source:
        where = source
    else:
        where = "the endpoint (--endpoint-url, BRAINBUCKET_ENDPOINT_URL, the AWS configuration)"
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if is_local(host):
        return f"is the server running? Start one with `brainbucket serve`, or fix {where}"
    if host.endswith(".amazonaws.com") or host == "amazonaws.com":
        return "check the network connection (and HTTPS_PROXY, if this network needs a proxy)"
    return f"check the network connection and {where}"


def _refusal(exc: OSError) -> bool:
    return isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED


def probe(
    endpoint: str,
    *,
    what: str,
    hint: str,
    retry_refused: bool = True,
    timeout: float = 10.0,
) -> None:
    """Connect once to ``endpoint``.

    Raises
    ------
    EndpointError
        Naming the endpoint and why (connection refused, no such host, timed out).
    """
    parts = urllib.parse.urlsplit(endpoint)
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return  # the clients word a malformed endpoint themselves
    if not host:
        return
    key = (host, port)
    deadline = time.monotonic() + (REFUSED_WINDOW if retry_refused else 0.0)
    delay = 0.05
    while True:
        try:
            socket.create_connection(key, timeout=timeout).close()
        except socket.gaierror as exc:
            if exc.errno == socket.EAI_AGAIN and time.monotonic() + delay < deadline:
                time.sleep(delay)  # the resolver had no answer yet
                delay *= 2
                continue
            raise _fail(what, endpoint, "no such host", hint) from exc
        except TimeoutError as exc:
            raise _fail(what, endpoint, f"no answer within {timeout:.0f} s", hint) from exc
        except OSError as exc:
            if _refusal(exc) and time.monotonic() + delay < deadline:
                time.sleep(delay)  # a server that is just starting
                delay = min(delay * 2, 0.4)
                continue
            reason = "connection refused" if _refusal(exc) else (exc.strerror or str(exc))
            raise _fail(what, endpoint, reason, hint) from exc
        return


def _fail(what: str, endpoint: str, reason: str, hint: str) -> EndpointError:
    err = unreachable(what, endpoint, reason)
    err.hint = hint
    return err
