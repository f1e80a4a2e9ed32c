"""HTTP/1.1 as both readers see it: status lines, header lines, dates and ranges.

The thread-per-file reader (``_direct``) and the one-thread reader of small files (``_small``)
read answers differently — from a buffered socket file, or from bytes gathered by a selector —
but parse them with these same functions, so both agree on what an answer says.
"""

from __future__ import annotations

import re

__all__ = [
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "ProtocolError",
    "continues_at",
    "header_line",
    "http_time",
    "status_line",
]

# Idle time allowed between two reads of an answer before the attempt counts as failed.
READ_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class ProtocolError(ConnectionError):
    """Bytes that are not the HTTP answer expected."""


def status_line(line: bytes) -> tuple[bytes, int]:
    """The version and status of an answer's first line (``HTTP/1.1 200 OK``).

    Examples
    --------
    >>> status_line(b"HTTP/1.1 206 Partial Content\\r\\n")
    (b'HTTP/1.1', 206)
    """
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        msg = f"not an HTTP answer: {line[:80]!r}"
        raise ProtocolError(msg)
    return parts[0], int(parts[1])


def header_line(line: bytes) -> tuple[str, str]:
    """The lower-cased name and the value of one header line.

    Examples
    --------
    >>> header_line(b"Content-Length: 42\\r\\n")
    ('content-length', '42')
    """
    name, _, value = line.decode("latin-1").partition(":")
    return name.strip().lower(), value.strip()


def http_time(value: str | None) -> float | None:
    """POSIX seconds of an HTTP date (``Last-Modified``), or ``None``.

    Examples
    --------
    >>> http_time("Thu, 01 Jan 1970 00:00:10 GMT")
    10.0
    """
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def continues_at(status: int, content_range: str, offset: int) -> bool:
    """Whether a ``206`` answer's ``Content-Range`` starts at ``offset``.

    Examples
    --------
    >>> continues_at(206, "bytes 100-199/200", 100), continues_at(200, "", 100)
    (True, False)
    """
    m = _CONTENT_RANGE.fullmatch(content_range)
    return status == 206 and m is not None and int(m.group(1)) == offset
