"""Snapshot references after ``@`` in a study URL: tag names and manifest digests.

Tag names are git-like, and safe as one object key (no ``/``) and inside a URL after ``@``;
a manifest digest is ``sha256:`` and 4 to 64 lowercase hex digits (a prefix is enough).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from ._exceptions import UsageError

if TYPE_CHECKING:
    from ._url import StoreURL

__all__ = [
    "REF_RULE",
    "TAG_RULE",
    "check_tag_name",
    "ref_problem",
    "refuse_snapshot",
    "tag_name_problem",
]

TAG_RULE = (
    "tag names are 1-100 characters: letters, digits, '.', '_', '+' and '-', beginning with "
    "a letter or digit, without '..' and not ending in '.' or '.lock'"
)
REF_RULE = f"after @ comes a tag ({TAG_RULE}) or a manifest digest, sha256:<4 to 64 hex digits>"
_ALLOWED = re.compile(r"[A-Za-z0-9._+-]+")
_DIGEST = re.compile(r"sha256:[0-9a-f]{4,64}")


def tag_name_problem(name: str) -> str:
    """Which rule ``name`` breaks, or ``""`` when it is a valid tag name.

    The rules are git's, narrowed so that a name is one object key and reads plainly after
    ``@`` in a URL: no ``/``, ``:`` (``@sha256:…`` names a manifest digest), ``@`` or spaces.

    Examples
    --------
    >>> tag_name_problem("v1.0.0")
    ''
    >>> tag_name_problem("paper 2027")
    "holds ' ': only letters, digits, '.', '_', '+' and '-' are allowed"
    >>> tag_name_problem("-v1")
    'must begin with a letter or digit'
    """
    if not name:
        return "is empty"
    if len(name) > 100:
        return "is longer than 100 characters"
    if not _ALLOWED.fullmatch(name):
        bad = sorted({c for c in name if not _ALLOWED.fullmatch(c)})
        shown = " ".join(repr(c) for c in bad[:5])
        return f"holds {shown}: only letters, digits, '.', '_', '+' and '-' are allowed"
    if not name[0].isalnum():
        return "must begin with a letter or digit"
    if ".." in name:
        return "two dots in a row are not allowed"
    if name.endswith((".", ".lock")):
        return "must not end in '.' or '.lock'"
    return ""


def check_tag_name(name: str) -> str:
    """``name`` if it is a valid tag name, else a :class:`~brainbucket.UsageError` (exit 2).

    Examples
    --------
    >>> check_tag_name("v1.0.0")
    'v1.0.0'
    >>> check_tag_name("a..b")
    Traceback (most recent call last):
    ...
    brainbucket.UsageError: invalid tag name 'a..b': two dots in a row are not allowed
    """
    problem = tag_name_problem(name)
    if problem:
        msg = f"invalid tag name {name!r}: {problem}"
        raise UsageError(msg, hint=TAG_RULE)
    return name


def ref_problem(ref: str) -> str:
    """Why ``ref`` cannot follow ``@`` in a study URL, or ``""``.

    Examples
    --------
    >>> ref_problem("v1.0.0"), ref_problem("sha256:3f5c")
    ('', '')
    >>> ref_problem("sha256:3f")
    'a manifest digest is sha256: and 4 to 64 lowercase hex digits'
    """
    if ref.startswith("sha256:"):
        return (
            ""
            if _DIGEST.fullmatch(ref)
            else ("a manifest digest is sha256: and 4 to 64 lowercase hex digits")
        )
    return tag_name_problem(ref)


def refuse_snapshot(url: str | os.PathLike[str] | StoreURL) -> None:
    """Refuse a snapshot URL (``s3://study@v1.0.0``) in a command that reads live objects
    (``tags``, ``study``, ``validate``...): it would show the study's current state as the
    snapshot's.

    Examples
    --------
    >>> refuse_snapshot("s3://study/sub-01")
    >>> refuse_snapshot("s3://study@v1")
    Traceback (most recent call last):
    ...
    brainbucket.UsageError: s3://study@v1: this command does not read snapshots yet
    """
    from ._url import StoreURL, parse_url  # _url imports this module

    parsed = url if isinstance(url, StoreURL) else parse_url(url)
    if parsed.ref:
        msg = f"{parsed}: this command does not read snapshots yet"
        raise UsageError(msg, hint=f"sync the snapshot down: `brainbucket sync {parsed} DIR`")
