"""Selective sync of a study, its sizes shown first; --validate before upload; manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import Mirror, Study
from brainbucket._demo import build_demo_study
from brainbucket.cli import run


@pytest.fixture
def published(s3_env, bucket: str, tmp_path: Path) -> tuple[str, Path]:
    """A demo study uploaded with `brainbucket sync` (so it has a manifest)."""
    src = build_demo_study(tmp_path / "src", subjects=4)
    url = f"s3://{bucket}/study"
    assert run(["sync", str(src), url, "--quiet"]) == 0
    return url, src


def _tree(root: Path) -> set[str]:
    """Data files under ``root`` (sync keeps the dataset's manifest in ``.brainbucket/``)."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".brainbucket/")
    }


def test_selective_download_is_exactly_requested_plus_dataset_files(
    published, tmp_path: Path, capsys
) -> None:
    url, src = published
    out = tmp_path / "out"
    args = [
        "sync",
        url,
        str(out),
        "--subject",
        "01",
        "03",
        "--datatype",
        "dwi",
        "--pipeline",
        "raw",
    ]
    assert run(args) == 0
    expected = {
        p.relative_to(src).as_posix()
        for s in ("01", "03")
        for p in (src / f"sub-{s}/ses-01/dwi").iterdir()
    } | {"README", "dataset_description.json", "participants.tsv"}
    assert _tree(out) == expected
    size = sum((src / p).stat().st_size for p in expected)
    printed = capsys.readouterr().out
    assert f"selection: {len(expected)} files" in printed
    assert f"({size} bytes)" in printed
    for p in expected:
        assert (out / p).read_bytes() == (src / p).read_bytes()


def test_sample_and_where_select_subjects(published, tmp_path: Path) -> None:
    url, _src = published
    out = tmp_path / "out"
    assert (
        run(
            [
                "sync",
                url,
                str(out),
                "--where",
                "sex == 'M'",
                "--sample",
                "1",
                "--seed",
                "5",
                "--quiet",
            ]
        )
        == 0
    )
    subjects = {p.name for p in out.glob("sub-*")}
    assert len(subjects) == 1
    assert subjects <= {"sub-02", "sub-04"}
    # raw and derivatives of that subject, nothing of the others
    derived = {p.name for p in (out / "derivatives/dmriprep").glob("sub-*")}
    assert derived == subjects


def test_study_reads_the_manifest(published) -> None:
    url, src = published
    study = Study(url)
    assert study.source == "manifest"
    assert study.subjects() == ["01", "02", "03", "04"]
    f = study.index.by_path["sub-02/ses-01/anat/sub-02_ses-01_T1w.nii"]
    assert f.sha256 is not None
    assert f.size == (src / f.path).stat().st_size


def test_mirror_verifies_against_the_manifest(published, tmp_path: Path) -> None:
    url, src = published
    m = Mirror(url, cache_dir=tmp_path / "cache")
    assert m.study.source == "manifest"
    paths = m.files(subject="04", datatype="anat", pipeline="raw")
    assert [p.read_bytes() for p in paths] == [
        (src / p.relative_to(m.root / "files")).read_bytes() for p in paths
    ]


def test_validate_before_upload(s3_env, bucket: str, tmp_path: Path, capsys) -> None:
    src = build_demo_study(tmp_path / "src", subjects=2)
    (src / "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii").rename(
        src / "sub-01/ses-01/anat/sub-01_T1w.nii"
    )
    url = f"s3://{bucket}/study"
    assert run(["sync", str(src), url, "--validate"]) == 14
    captured = capsys.readouterr()
    assert "sub-01/ses-01/anat/sub-01_T1w.nii: file name lacks ses-01" in captured.out
    assert "nothing was transferred" in captured.err
    assert "--force" in captured.err
    assert not Study(url).index.files  # nothing was uploaded
    assert run(["sync", str(src), url, "--validate", "--force", "--quiet"]) == 0
    assert "sub-01/ses-01/anat/sub-01_T1w.nii" in Study(url).index.by_path


def test_selective_sync_bad_subject(published, tmp_path: Path, capsys) -> None:
    url, _ = published
    assert run(["sync", url, str(tmp_path / "out"), "--subject", "77"]) == 2
    assert "no such subject" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
