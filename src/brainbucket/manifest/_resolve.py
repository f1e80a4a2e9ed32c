"""Which manifest root a snapshot reference names: a tag, or a (short) manifest digest.

``s3://study@v1.0.0`` reads the tag object ``.brainbucket/tags/v1.0.0.json`` (one GET);
``s3://study@sha256:3f5c`` lists the roots (one listing per 1000 versions of the study) and
keeps those whose names start with those digits. Every reader of a manifest goes through
:func:`~brainbucket.manifest.read_manifest`, which asks here when its store's URL carries a
reference: so ``sync``, ``verify``, ``ls``, the mirror and ``Study`` read a snapshot alike.
"""

from __future__ import annotations

from .._exceptions import NotFoundError, ObjectNotFoundError, UsageError
from .._types import ObjectInfo
from .._url import StoreURL
from ..store import Store
from ._format import META_DIR
from ._tag import TAGS_DIR, Tag, tag_path

__all__ = ["missing_tag", "resolve_ref", "tag_names"]

_ROOTS_DIR = f"{META_DIR}/roots/"


def _base(store: Store) -> str:
    return str(StoreURL(store.url.scheme, store.url.bucket, store.url.prefix))


def _names_under(store: Store, folder: str, suffix: str) -> list[str]:
    try:
        names = [e.path for e in store.ls(folder) if isinstance(e, ObjectInfo)]
    except ObjectNotFoundError:
        return []
    return sorted(
        p[len(folder) : -len(suffix)] for p in names if p.startswith(folder) and p.endswith(suffix)
    )


def tag_names(store: Store) -> list[str]:
    """The names of the study's tags (one listing; no tag is read)."""
    return _names_under(store, TAGS_DIR, ".json")


def missing_tag(store: Store, name: str) -> NotFoundError:
    """The error for a tag that does not exist, naming the tags that do."""
    names = tag_names(store)
    have = (", ".join(names[:20]) + (", …" if len(names) > 20 else "")) if names else "none"
    msg = f"{store.describe()}: no tag {name!r} (tags: {have})"
    return NotFoundError(msg, hint=f"`brainbucket tags {_base(store)}` lists them")


def _roots_starting(store: Store, hexdigits: str) -> list[str]:
    # One listing of the roots (a page holds 1000: one root per sync). The store's listing
    # takes folder prefixes only, so the digits are matched here.
    return [r for r in _names_under(store, _ROOTS_DIR, ".json.gz") if r.startswith(hexdigits)]


def resolve_ref(store: Store, ref: str) -> str:
    """The ``sha256:`` digest of the manifest root that ``ref`` names in ``store``.

    Raises
    ------
    NotFoundError
        No such tag (the message names the tags there are), or no manifest with that digest.
    UsageError
        A short digest that more than one manifest starts with.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> from brainbucket.manifest import Entry, Manifest, write_manifest
    >>> store = open_store(tempfile.mkdtemp())
    >>> m = Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)])
    >>> _ = write_manifest(store, m)
    >>> resolve_ref(store, m.root[:12]) == m.root
    True
    """
    if ref.startswith("sha256:"):
        hexdigits = ref.partition(":")[2]
        roots = _roots_starting(store, hexdigits)
        if not roots:
            msg = f"{store.describe()}: no manifest with digest {ref}"
            raise NotFoundError(msg, hint=f"`brainbucket tags {_base(store)}` lists the cited ones")
        if len(roots) > 1:
            shown = ", ".join(f"sha256:{r[:12]}" for r in roots[:5])
            msg = f"{store.describe()}: {ref} is ambiguous: {len(roots)} manifests start with it ({shown})"
            raise UsageError(msg, hint="give more digits of the digest")
        return f"sha256:{roots[0]}"
    path = tag_path(ref)
    try:
        blob = store.read_bytes(path)
    except ObjectNotFoundError as exc:
        raise missing_tag(store, ref) from exc
    return Tag.decode(blob, store.describe(path)).root
