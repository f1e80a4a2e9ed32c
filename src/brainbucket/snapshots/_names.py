"""Tag names: git-like, and safe as one object key (no ``/``) and inside a URL after ``@``."""

from __future__ import annotations

import re

from .._exceptions import UsageError

__all__ = ["TAG_RULE", "check_tag_name", "tag_name_problem"]

TAG_RULE = (
    "tag names are 1-100 characters: letters, digits, '.', '_', '+' and '-', beginning with "
    "a letter or digit, without '..' and not ending in '.' or '.lock'"
)
_ALLOWED = re.compile(r"[A-Za-z0-9._+-]+")


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
