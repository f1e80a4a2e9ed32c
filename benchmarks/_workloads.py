"""Workload trees for the benchmarks, generated once and kept in the benchmarks cache.

Every tree is finished in a temporary folder and renamed into place, with a small JSON
description written beside it (never inside it, so no tool ever uploads it). A tree whose
description is missing or was made with other parameters is rebuilt.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

MiB = 1 << 20


@dataclass(frozen=True)
class Tree:
    """A generated folder: where it is, how many files, how many bytes."""

    name: str
    path: Path
    files: int
    bytes: int


@dataclass(frozen=True)
class Spec:
    """Parameters of a tree; a change of parameters rebuilds it."""

    kind: str  # "bids" | "small" | "tiny"
    subjects: int = 0
    sessions: int = 0
    anat: int = 0
    dwi: int = 0
    files: int = 0
    size: int = 0


FULL = {
    # 20 subjects x 2 sessions: T1w 8 MiB, DWI 24 MiB, bval/bvec/json sidecars (~1.3 GB).
    "bids": Spec("bids", subjects=20, sessions=2, anat=8 * MiB, dwi=24 * MiB),
    "small": Spec("small", files=5000, size=4096),
    "tree100k": Spec("tiny", files=100_000, size=100),
}
QUICK = {
    "bids": Spec("bids", subjects=2, sessions=2, anat=1 * MiB, dwi=3 * MiB),
    "small": Spec("small", files=300, size=4096),
    "tree100k": Spec("tiny", files=2000, size=100),
}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _sidecar(rng: random.Random, kind: str) -> bytes:
    if kind == "bval":
        return (" ".join(str(rng.choice((0, 1000, 2000))) for _ in range(65)) + "\n").encode()
    if kind == "bvec":
        rows = [" ".join(f"{rng.uniform(-1, 1):.6f}" for _ in range(65)) for _ in range(3)]
        return ("\n".join(rows) + "\n").encode()
    doc = {"RepetitionTime": round(rng.uniform(2, 9), 3), "EchoTime": 0.089, "Manufacturer": "X"}
    return json.dumps(doc, indent=2).encode()


def _build_bids(root: Path, spec: Spec) -> None:
    rng = random.Random(1)
    _write(root / "dataset_description.json", b'{"Name": "bench", "BIDSVersion": "1.9.0"}\n')
    rows = ["participant_id\tage\tsex"]
    for s in range(1, spec.subjects + 1):
        sub = f"sub-{s:02d}"
        rows.append(f"{sub}\t{rng.randint(18, 80)}\t{rng.choice('MF')}")
        for t in range(1, spec.sessions + 1):
            ses = f"ses-{t:02d}"
            base = root / sub / ses
            stem = f"{sub}_{ses}"
            # Random bytes: real NIfTI volumes are gzipped and barely compress further.
            _write(base / "anat" / f"{stem}_T1w.nii.gz", os.urandom(spec.anat))
            _write(base / "anat" / f"{stem}_T1w.json", _sidecar(rng, "json"))
            _write(base / "dwi" / f"{stem}_dwi.nii.gz", os.urandom(spec.dwi))
            for ext in ("bval", "bvec", "json"):
                _write(base / "dwi" / f"{stem}_dwi.{ext}", _sidecar(rng, ext))
    _write(root / "participants.tsv", ("\n".join(rows) + "\n").encode())


def _build_flat(root: Path, spec: Spec, per_folder: int) -> None:
    rng = random.Random(spec.files)
    for i in range(spec.files):
        folder = root / f"sub-{i // per_folder:05d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"f{i:06d}.dat").write_bytes(rng.randbytes(spec.size))


def _measure(path: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, n))
    return files, size


def ensure_tree(cache: Path, name: str, spec: Spec) -> Tree:
    """The tree ``name`` built to ``spec`` under ``cache/trees``, generated if needed."""
    trees = cache / "trees"
    trees.mkdir(parents=True, exist_ok=True)
    label = f"{name}-{'quick' if spec in QUICK.values() else 'full'}"
    path = trees / label
    desc = trees / f"{label}.json"
    want = asdict(spec)
    if path.is_dir() and desc.is_file():
        have = json.loads(desc.read_text())
        if have.get("spec") == want:
            return Tree(name, path, have["files"], have["bytes"])
    shutil.rmtree(path, ignore_errors=True)
    tmp = trees / f".{label}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    if spec.kind == "bids":
        _build_bids(tmp, spec)
    else:
        _build_flat(tmp, spec, per_folder=100)
    tmp.rename(path)
    files, size = _measure(path)
    desc.write_text(json.dumps({"spec": want, "files": files, "bytes": size}))
    return Tree(name, path, files, size)


def tree_stats(path: Path, skip: str = ".brainbucket") -> tuple[int, int]:
    """Files and bytes under ``path``, leaving out the ``skip`` folder at its top."""
    files = size = 0
    for dirpath, dirs, names in os.walk(path):
        if Path(dirpath) == path and skip in dirs:
            dirs.remove(skip)
        for n in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, n))
    return files, size
