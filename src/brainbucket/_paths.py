"""Remote keys are untrusted input: map them to local paths safely (ARCHITECTURE rule 3)."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from ._exceptions import UnsafeKeyError

__all__ = ["check_key", "local_path_for", "printable"]

# The longest name most local filesystems accept for one path component.
_MAX_COMPONENT_BYTES = 255
# Characters that make a key need a closer look: control characters, DEL, backslash.
_SUSPECT = re.compile(r"[\x00-\x1f\x7f\\]")


def check_key(key: str) -> str:
    """Return ``key`` if it is safe to turn into a local relative path, else raise.

    A safe key is relative, ``/``-separated, with no empty, ``.`` or ``..`` component, no
    backslash, NUL or other control character, and no component longer than 255 bytes.
    Spaces, ``+``, unicode letters and the like are fine and kept exactly.

    Raises
    ------
    UnsafeKeyError

    Examples
    --------
    >>> check_key("sub-01/anat/sub-01_aparc+aseg.nii.gz")
    'sub-01/anat/sub-01_aparc+aseg.nii.gz'
    """
    if not key:
        msg = "empty key"
        raise UnsafeKeyError(msg)
    # The common case (a plain key) costs one regex scan and one split: this runs for every
    # key of every listing and plan.
    if _SUSPECT.search(key) is None and not key.startswith("/"):
        parts = key.split("/")
        if not any(p in ("", ".", "..") for p in parts) and (
            len(key) <= _MAX_COMPONENT_BYTES // 4
            or all(len(p.encode("utf-8", "surrogatepass")) <= _MAX_COMPONENT_BYTES for p in parts)
        ):
            if not (len(key) > 1 and key[1] == ":" and key[0].isalpha()):
                return key
    _refuse(key)
    return key  # pragma: no cover - _refuse always raises


def _refuse(key: str) -> None:
    """Raise the UnsafeKeyError that says what is wrong with ``key``."""
    shown = key.encode("unicode_escape").decode("ascii")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        msg = f"key has a control character: {shown!r}"
        raise UnsafeKeyError(msg)
    if "\\" in key:
        msg = f"key has a backslash: {shown!r}"
        raise UnsafeKeyError(msg)
    if key.startswith("/"):
        msg = f"key is an absolute path: {shown!r}"
        raise UnsafeKeyError(msg)
    for part in key.split("/"):
        if part in ("", ".", ".."):
            msg = f"key has an empty, '.' or '..' component: {shown!r}"
            raise UnsafeKeyError(msg)
        if len(part.encode("utf-8", "surrogatepass")) > _MAX_COMPONENT_BYTES:
            msg = f"key has a component longer than {_MAX_COMPONENT_BYTES} bytes: {shown[:80]!r}..."
            raise UnsafeKeyError(msg)
    msg = f"key looks like a drive path: {shown!r}"
    raise UnsafeKeyError(msg)


def local_path_for(root: str | os.PathLike[str], key: str) -> Path:
    """Map a remote key to a path under ``root``, refusing anything that would escape it.

    Parameters
    ----------
    root
        The local destination folder.
    key
        Key relative to the remote root.

    Returns
    -------
    pathlib.Path
        ``root / key``, guaranteed to be inside ``root``.

    Raises
    ------
    UnsafeKeyError

    Examples
    --------
    >>> str(local_path_for("/data", "sub-01/anat/T1w.nii.gz"))
    '/data/sub-01/anat/T1w.nii.gz'
    """
    check_key(key)
    base = os.path.abspath(root)
    target = os.path.normpath(os.path.join(base, key))
    # check_key already refuses every way out ('..', absolute, drive); kept as a second lock.
    if not target.startswith(base.rstrip(os.sep) + os.sep):
        msg = f"key would land outside {base}: {key!r}"
        raise UnsafeKeyError(msg)
    return Path(target)


def normalized(key: str) -> str:
    """The NFC, case-folded form two keys share if they would collide on some filesystems."""
    return unicodedata.normalize("NFC", key).casefold()


def printable(text: str) -> str:
    r"""``text`` with control characters escaped, so a hostile key cannot rewrite a terminal.

    Examples
    --------
    >>> printable("s3://b/evil\x1b[2J.txt")
    's3://b/evil\\x1b[2J.txt'
    """
    if not any(ord(c) < 32 or ord(c) == 127 for c in text):
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii") if ord(c) < 32 or ord(c) == 127 else c
        for c in text
    )
