"""A small study for the snapshot tests: its files, written to a folder, synced to a bucket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brainbucket.cli import run

FILES = {
    "participants.tsv": b"participant_id\nsub-01\nsub-02\n",
    "sub-01/anat/sub-01_T1w.nii.gz": os.urandom(5000),
    "sub-02/anat/sub-02_T1w.nii.gz": os.urandom(6000),
    "sub-02/anat/sub-02_T1w.json": b"{}",
}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def synced(bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``FILES`` synced to ``s3://<bucket>/study``; its URL."""
    url = f"s3://{bucket}/study"
    assert run(["sync", str(write_tree(tmp_path / "src", FILES)), url, "--quiet"]) == 0
    capsys.readouterr()
    return url


def move_on(study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Tag ``study`` ``v1``, then overwrite one file, delete one and add one; its URL."""
    assert run(["tag", study, "v1"]) == 0
    src = tmp_path / "src"
    (src / "sub-01/anat/sub-01_T1w.nii.gz").write_bytes(os.urandom(4321))
    (src / "sub-02/anat/sub-02_T1w.json").unlink()
    write_tree(src, {"sub-03/anat/sub-03_T1w.nii.gz": os.urandom(700)})
    assert run(["sync", str(src), study, "--delete", "--quiet"]) == 0
    capsys.readouterr()
    return study
