"""``get``, ``Mirror`` and ``Study`` of a snapshot give the tagged files, after the study moved on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from brainbucket import Mirror, OfflineError, Study, UsageError
from brainbucket.cli import run
from brainbucket.snapshots import open_snapshot
from cli_text import messages

from ._study import FILES, move_on

TAGGED = {p: hashlib.sha256(data).hexdigest() for p, data in FILES.items()}


@pytest.fixture
def moved_on(study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    return move_on(study, tmp_path, capsys)


def digests(paths: list[Path], root: Path) -> dict[str, str]:
    """``key → sha256`` of mirrored files (keys relative to the mirror's data folder)."""
    return {
        p.relative_to(root / "files").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in paths
    }


def test_get_of_a_snapshot_fetches_the_tagged_bytes(
    moved_on: str, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["get", "--json", f"{moved_on}@v1", "--subject", "01"])
    out, err = capsys.readouterr()
    assert code == 0, err
    paths = [Path(p) for p in json.loads(out)["paths"]]
    root = Mirror(f"{moved_on}@v1").root
    assert digests(paths, root) == {
        "sub-01/anat/sub-01_T1w.nii.gz": TAGGED["sub-01/anat/sub-01_T1w.nii.gz"]
    }  # not the bytes that overwrote it since


def test_get_of_an_unknown_tag_is_one_line(
    moved_on: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["get", f"{moved_on}@v9", "--subject", "01"])
    _, err = capsys.readouterr()
    assert code == 3
    assert messages(err)[0] == f"error: {moved_on}@v9: no tag 'v9' (tags: v1)"
    assert "Traceback" not in err


def test_mirror_of_a_snapshot_is_its_own_cache_entry_by_digest(moved_on: str) -> None:
    m = Mirror(f"{moved_on}@v1")
    paths = m.files(datatype="anat")
    assert digests(paths, m.root) == {p: h for p, h in TAGGED.items() if p.endswith(("gz", "json"))}
    # The deleted sidecar is there as tagged; the added subject is not.
    assert "03" not in m.study.subjects()
    live = Mirror(moved_on)
    assert live.root != m.root
    assert "03" in live.study.subjects()
    # Keyed by the manifest's digest: the digest names the same entry as the tag.
    digest = open_snapshot(f"{moved_on}@v1").manifest.root
    assert Mirror(f"{moved_on}@{digest[:15]}").root == m.root
    # A snapshot cannot change: offline, the same URL answers from that entry.
    again = Mirror(f"{moved_on}@v1", offline=True).files(subject="02")
    assert digests(again, m.root) == {p: h for p, h in TAGGED.items() if p.startswith("sub-02/")}


def test_offline_mirror_of_a_snapshot_never_resolved(moved_on: str) -> None:
    with pytest.raises(OfflineError, match=r"@v1 was never mirrored into"):
        Mirror(f"{moved_on}@v1", offline=True)


def test_study_of_a_snapshot_reads_its_manifest_at_recorded_versions(moved_on: str) -> None:
    study = Study(f"{moved_on}@v1")
    assert study.source == "manifest"
    assert study.subjects() == ["01", "02"]
    assert [f.path for f in study.files(subject="02")] == [
        "sub-02/anat/sub-02_T1w.json",
        "sub-02/anat/sub-02_T1w.nii.gz",
    ]
    data = study.read_bytes("sub-01/anat/sub-01_T1w.nii.gz")
    assert hashlib.sha256(data).hexdigest() == TAGGED["sub-01/anat/sub-01_T1w.nii.gz"]
    assert list(study.participants.index) == ["01", "02"]
    assert "03" in Study(moved_on).subjects()


def test_study_of_a_snapshot_needs_its_manifest(moved_on: str) -> None:
    with pytest.raises(UsageError, match=r"a snapshot is read from its manifest"):
        Study(f"{moved_on}@v1", use_manifest=False)
