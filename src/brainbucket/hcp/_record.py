"""The fetch record and dataset descriptions of an HCP derivative tree.

The record, ``derivatives/<pipeline>/.brainbucket-hcp.json``, maps every fetched file's BIDS
path to its HCP key, size, ETag, MD5 and sha256, so a tree can be verified later (and a
re-fetch knows what it already has). The leading dot keeps BIDS validators from indexing it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import ManifestError, UsageError
from .._hashing import CHUNK, VerifiedWriter, format_sha256, hex_of
from .._paths import local_path_for
from .._types import Expected
from .._version import __version__
from ._layout import sidecar

__all__ = [
    "RECORD_NAME",
    "Record",
    "check_pipeline",
    "file_digests",
    "verify",
    "write_descriptions",
    "write_sidecars",
]

RECORD_NAME = ".brainbucket-hcp.json"
RECORD_FORMAT = "brainbucket-hcp/1"
BIDS_VERSION = "1.10.0"

_PIPELINE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_pipeline(pipeline: str) -> str:
    """A pipeline name is one safe folder name.

    Examples
    --------
    >>> check_pipeline("hcp")
    'hcp'
    """
    if not _PIPELINE_RE.match(pipeline or "") or pipeline in (".", ".."):
        msg = f"invalid pipeline name {pipeline!r}"
        raise UsageError(msg, hint="use letters, digits, '.', '_' or '-', e.g. hcp")
    return pipeline


def file_digests(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``(md5 hex, sha256:<hex>)`` of a local file, in one read."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            md5.update(view[:n])
            sha.update(view[:n])
    return md5.hexdigest(), format_sha256(sha.hexdigest())


@dataclass
class Record:
    """What a derivative tree holds, keyed by BIDS path (relative to the derivative root)."""

    bucket: str
    release: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, derivative: Path, *, bucket: str, release: str) -> Record:
        """The record in ``derivative``, or an empty one; refuses a tree of another release."""
        path = derivative / RECORD_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(bucket, release)
        except (OSError, ValueError) as exc:
            msg = f"{path}: unreadable fetch record ({exc})"
            raise ManifestError(msg, hint=f"delete {path} and fetch again to rebuild it") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("files"), dict):
            msg = f"{path}: malformed fetch record"
            raise ManifestError(msg, hint=f"delete {path} and fetch again to rebuild it")
        if raw.get("release") != release or raw.get("bucket") != bucket:
            msg = (
                f"{derivative} holds {raw.get('bucket')}/{raw.get('release')}, "
                f"not {bucket}/{release}"
            )
            raise UsageError(msg, hint="fetch another release into another --pipeline or --to")
        return cls(bucket, release, dict(raw["files"]))

    def save(self, derivative: Path) -> None:
        """Write atomically (temporary file, then rename); an unchanged record is not rewritten."""
        doc = {
            "format": RECORD_FORMAT,
            "bucket": self.bucket,
            "release": self.release,
            "files": dict(sorted(self.files.items())),
        }
        text = json.dumps(doc, indent=1) + "\n"
        path = derivative / RECORD_NAME
        try:
            if path.read_text(encoding="utf-8") == text:
                return
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        _write_atomic(path, text)


def _write_atomic(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    with VerifiedWriter(path, Expected(size=len(data))) as w:
        w.write(data)
        w.commit()


def write_descriptions(root: Path, derivative: Path, *, bucket: str, release: str) -> None:
    """``dataset_description.json`` at the root and in the derivative, unless already there.

    The derivative's first ``GeneratedBy`` entry is named after its folder (the pipeline), so
    tools that select derivatives by pipeline name (pybids' ``scope=``) find it.
    """
    raw = {
        "Name": f"Human Connectome Project {release} (subset)",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
        "License": "HCP open access data use terms (https://www.humanconnectome.org/study/hcp-young-adult/document/wu-minn-hcp-consortium-open-access-data-use-terms)",
        "Acknowledgements": "Data were provided by the Human Connectome Project, WU-Minn Consortium.",
    }
    deriv = {
        "Name": f"HCP minimal preprocessing, {release}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [
            {
                "Name": derivative.name,
                "Description": "HCP minimal preprocessing pipelines",
                "CodeURL": "https://github.com/Washington-University/HCPpipelines",
            },
            {
                "Name": "brainbucket",
                "Version": __version__,
                "Description": f"fetched from s3://{bucket}/{release}/ and renamed to BIDS",
            },
        ],
        "SourceDatasets": [{"URL": f"s3://{bucket}/{release}/"}],
        "License": raw["License"],
    }
    for folder, doc in ((root, raw), (derivative, deriv)):
        path = folder / "dataset_description.json"
        if not path.exists():
            _write_atomic(path, json.dumps(doc, indent=2) + "\n")


def write_sidecars(derivative: Path, files: Iterable[tuple[str, str]]) -> None:
    """JSON sidecars for mapped images (``(target, key)`` pairs), unless already there."""
    for target, key in files:
        found = sidecar(target, key)
        if found is None:
            continue
        path = local_path_for(derivative, found[0])
        if not path.exists():
            _write_atomic(path, json.dumps(found[1], indent=2) + "\n")


def verify(dest: str | os.PathLike[str], pipeline: str = "hcp") -> list[tuple[str, str]]:
    """Re-hash every file the fetch record lists; returns ``(path, problem)`` pairs.

    An empty list means every recorded file is present with its recorded size and sha256.

    Raises
    ------
    ObjectNotFoundError
        If there is no fetch record under ``dest``.

    Examples
    --------
    >>> from brainbucket import hcp
    >>> hcp.verify("./hcp")  # doctest: +SKIP
    []
    """
    from .._exceptions import ObjectNotFoundError

    derivative = Path(dest) / "derivatives" / check_pipeline(pipeline)
    path = derivative / RECORD_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        files = raw["files"]
    except FileNotFoundError:
        msg = f"no HCP fetch record at {path}"
        raise ObjectNotFoundError(msg, hint="fetch with `brainbucket hcp fetch` first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"{path}: malformed fetch record"
        raise ManifestError(msg) from exc
    problems: list[tuple[str, str]] = []
    for rel, entry in sorted(files.items()):
        local = local_path_for(derivative, rel)
        try:
            size = local.stat().st_size
        except FileNotFoundError:
            problems.append((rel, "missing"))
            continue
        if size != entry.get("size"):
            problems.append((rel, f"size {size} != recorded {entry.get('size')}"))
            continue
        _, sha = file_digests(local)
        if hex_of(sha) != hex_of(str(entry.get("sha256", ""))):
            problems.append((rel, "sha256 differs from the record"))
    return problems
