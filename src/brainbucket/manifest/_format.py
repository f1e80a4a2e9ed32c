"""The stored form of manifests: gzipped JSON Lines shards, a gzipped JSON root, a pointer.

Everything here is pure (bytes in, bytes out); reading from and writing to a store lives in
``_io``. The format is documented in ``docs/manifest.md``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._exceptions import ManifestError
from .._hashing import sha256_bytes
from ._entry import Entry

__all__ = [
    "FORMAT",
    "HEAD_PATH",
    "META_DIR",
    "POINTER_FORMAT",
    "RootInfo",
    "ShardRef",
    "decode_pointer",
    "decode_root",
    "decode_shard",
    "encode_pointer",
    "encode_root",
    "encode_shard",
    "root_path",
    "shard_of",
    "shard_path",
]

FORMAT = "brainbucket-manifest/1"
POINTER_FORMAT = "brainbucket-pointer/1"
META_DIR = ".brainbucket"
HEAD_PATH = f"{META_DIR}/HEAD"


def shard_path(digest: str) -> str:
    return f"{META_DIR}/shards/{digest.partition(':')[2]}.jsonl.gz"


def root_path(digest: str) -> str:
    return f"{META_DIR}/roots/{digest.partition(':')[2]}.json.gz"


def shard_of(path: str) -> str:
    """The shard a path belongs to.

    One shard per top-level folder (``sub-01/``), one per subject of each derivatives
    pipeline (``derivatives/<pipeline>/sub-01/``), one per pipeline for the rest of it, and
    ``""`` for files at the top of the dataset.

    Examples
    --------
    >>> shard_of("sub-01/anat/sub-01_T1w.nii.gz")
    'sub-01/'
    >>> shard_of("derivatives/fmriprep/sub-02/anat/x.nii.gz")
    'derivatives/fmriprep/sub-02/'
    >>> shard_of("participants.tsv")
    ''
    """
    first, sep, rest = path.partition("/")
    if not sep:
        return ""
    if first == "derivatives":
        pipeline, sep2, rest2 = rest.partition("/")
        if not sep2:
            return "derivatives/"
        subject, sep3, _ = rest2.partition("/")
        if sep3 and subject.startswith("sub-"):
            return f"derivatives/{pipeline}/{subject}/"
        return f"derivatives/{pipeline}/"
    return first + "/"


def shard_may_hold(shard: str, prefix: str) -> bool:
    """Whether ``shard`` may hold a path starting with ``prefix``."""
    if not prefix or shard.startswith(prefix):
        return True
    # The shard a path just below ``prefix`` would land in.
    probe = prefix + "x" if prefix.endswith("/") else prefix
    return shard_of(probe) == shard


@dataclass(frozen=True, slots=True)
class ShardRef:
    """What the root records of one shard: its name, digest, entry count and total bytes."""

    name: str
    sha256: str
    count: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "count": self.count, "size": self.size}


def _gzip(data: bytes) -> bytes:
    # mtime=0 and no file name: the same content always gives the same bytes and digest.
    return gzip.compress(data, compresslevel=6, mtime=0)


def _gunzip(blob: bytes, what: str) -> bytes:
    try:
        return gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as exc:
        msg = f"{what}: not a complete gzip stream (truncated or damaged)"
        raise ManifestError(msg) from exc


def encode_shard(entries: Iterable[Entry]) -> bytes:
    """Gzipped JSON Lines, one entry per line, sorted by path."""
    lines = [
        json.dumps(e.to_dict(), separators=(",", ":"), ensure_ascii=False)
        for e in sorted(entries, key=lambda e: e.path)
    ]
    return _gzip(("\n".join(lines) + "\n" if lines else "").encode("utf-8"))


def decode_shard(blob: bytes, what: str) -> dict[str, Entry]:
    """Parse a shard into ``path → Entry`` (in path order).

    Raises
    ------
    ManifestError
    """
    try:
        text = _gunzip(blob, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{what}: not UTF-8 text"
        raise ManifestError(msg) from exc
    lines = [line for line in text.split("\n") if line.strip()]
    try:
        # One parse of the whole shard is several times faster than one per line.
        docs = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        for n, line in enumerate(lines, 1):
            try:
                json.loads(line)
            except ValueError as exc:
                msg = f"{what}: line {n} is not JSON"
                raise ManifestError(msg) from exc
        msg = f"{what}: not JSON Lines"
        raise ManifestError(msg) from None
    out: dict[str, Entry] = {}
    for d in docs:
        e = Entry.from_dict(d)
        out[e.path] = e
    return out


@dataclass(frozen=True, slots=True)
class RootInfo:
    """One version of a dataset as its root records it: the shards, and where it came from.

    ``parent`` is the digest of the root this version was written over (``None`` for a
    study's first version); ``recorded`` is ``False`` for roots written before brainbucket
    kept the history (they say nothing of their parent, date or author).
    """

    refs: dict[str, ShardRef]
    count: int
    size: int
    parent: str | None = None
    date: str | None = None
    author: str | None = None
    recorded: bool = False


def encode_root(shards: Iterable[ShardRef], history: dict[str, Any] | None = None) -> bytes:
    """The root blob; ``history`` (``parent``, ``date``, ``author``) follows the shards."""
    refs = sorted(shards, key=lambda r: r.name)
    doc = {
        "format": FORMAT,
        "count": sum(r.count for r in refs),
        "size": sum(r.size for r in refs),
        "shards": [r.to_dict() for r in refs],
        **(history or {}),
    }
    return _gzip(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def decode_root(blob: bytes, what: str) -> dict[str, ShardRef]:
    """Parse a root into ``shard name → ShardRef``.

    Raises
    ------
    ManifestError
    """
    return decode_root_info(blob, what).refs


def _optional_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(key)
    return value


def decode_root_info(blob: bytes, what: str) -> RootInfo:
    """Parse a root: its shards, and its parent, date and author where it records them.

    Raises
    ------
    ManifestError

    Examples
    --------
    >>> blob = encode_root([ShardRef("", "sha256:" + "0" * 64, 1, 5)], {"parent": None})
    >>> info = decode_root_info(blob, "root")
    >>> info.count, info.parent, info.recorded
    (1, None, True)
    """
    try:
        doc = json.loads(_gunzip(blob, what))
        if doc.get("format") != FORMAT:
            msg = f"{what}: unknown manifest format {str(doc.get('format'))[:40]!r}"
            raise ManifestError(msg, hint="upgrade brainbucket to read this dataset")
        refs = {}
        for d in doc["shards"]:
            ref = ShardRef(str(d["name"]), str(d["sha256"]), int(d["count"]), int(d["size"]))
            refs[ref.name] = ref
        info = RootInfo(
            refs,
            sum(r.count for r in refs.values()),
            sum(r.size for r in refs.values()),
            _optional_str(doc, "parent"),
            _optional_str(doc, "date"),
            _optional_str(doc, "author"),
            # Old roots lack the key; a first version records ``"parent": null``.
            "parent" in doc,
        )
    except ManifestError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        msg = f"{what}: malformed manifest root"
        raise ManifestError(msg) from exc
    return info


def encode_pointer(root: str) -> bytes:
    return (json.dumps({"format": POINTER_FORMAT, "root": root}) + "\n").encode("ascii")


def decode_pointer(blob: bytes, what: str) -> str:
    """The root digest a pointer names.

    Raises
    ------
    ManifestError
    """
    try:
        doc = json.loads(blob)
        root = doc["root"]
        if doc.get("format") != POINTER_FORMAT:
            msg = f"{what}: unknown pointer format {str(doc.get('format'))[:40]!r}"
            raise ManifestError(msg, hint="upgrade brainbucket to read this dataset")
    except ManifestError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        msg = f"{what}: malformed manifest pointer"
        raise ManifestError(msg) from exc
    if not (isinstance(root, str) and root.startswith("sha256:") and len(root) == 71):
        msg = f"{what}: malformed manifest pointer"
        raise ManifestError(msg)
    return root


def check_digest(blob: bytes, expected: str, what: str) -> None:
    """Content-addressed objects must hash to their name."""
    if sha256_bytes(blob) != expected:
        msg = f"{what}: content does not match its digest (truncated or altered)"
        raise ManifestError(msg)
