"""brainbucket validate and brainbucket study, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainbucket._demo import build_demo_study
from brainbucket.cli import run


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return build_demo_study(tmp_path / "demo", subjects=3)


def test_validate_valid_study(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", str(demo)]) == 0
    assert "valid BIDS" in capsys.readouterr().out


def test_validate_reports_one_line_per_problem_with_the_rule(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anat = demo / "sub-01/ses-01/anat"
    (anat / "sub-01_ses-01_T1w.nii").rename(anat / "sub-01_ses-01_T1.nii")
    (anat / "sub-01_ses-01_run-1_acq-x_T1w.nii").write_bytes(b"")
    (demo / "sub-02/ses-01/dwi/sub-02_ses-01_dwi.nii.gz").rename(
        demo / "sub-02/ses-01/dwi/sub-02_ses-01_dwi.nii.zip"
    )
    (demo / "dataset_description.json").unlink()
    assert run(["validate", str(demo)]) == 14
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 4
    assert any(
        "dataset_description.json is missing [rules.files.common.core.dataset_description]" in ln
        for ln in lines
    )
    assert any(
        ln.startswith("sub-01/ses-01/anat/sub-01_ses-01_T1.nii: 'T1' is not a BIDS suffix")
        for ln in lines
    )
    assert any("not in the order" in ln for ln in lines)
    assert any(
        "extension '.nii.zip' is not allowed for dwi" in ln and "rules.files.raw.dwi" in ln
        for ln in lines
    )
    assert "error:" in captured.err
    assert "4 BIDS problem(s)" in captured.err
    assert "Traceback" not in captured.err


def test_validate_json_and_bidsignore(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (demo / "sub-01/ses-01/anat/sub-01_ses-01_notes.txt").write_text("x")
    assert run(["validate", str(demo), "--json"]) == 14
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False
    assert [p["path"] for p in doc["problems"]] == ["sub-01/ses-01/anat/sub-01_ses-01_notes.txt"]
    assert doc["problems"][0]["rule"]
    (demo / ".bidsignore").write_text("*_notes.txt\n")
    assert run(["validate", str(demo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_validate_on_s3(s3_env, bucket: str, demo: Path, upload, capsys) -> None:
    from brainbucket import open_store

    upload(open_store(f"s3://{bucket}/study"), demo)
    assert run(["validate", f"s3://{bucket}/study"]) == 0
    assert run(["validate", f"s3://{bucket}/nothing-here"]) == 14  # no dataset at all
    out = capsys.readouterr().out
    assert "dataset_description.json is missing" in out


def test_validate_missing_bucket(s3_env, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "s3://no-such-bucket-bids"]) == 3
    assert "Traceback" not in capsys.readouterr().err


def test_study_summary_and_selection_sizes(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "study",
                str(demo),
                "--subject",
                "01,03",
                "--datatype",
                "anat",
                "--pipeline",
                "raw",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["subjects"] == ["01", "02", "03"]
    assert doc["pipelines"] == ["dmriprep"]
    sel = doc["selection"]
    expected = [
        p.relative_to(demo).as_posix()
        for s in ("01", "03")
        for p in sorted((demo / f"sub-{s}/ses-01/anat").iterdir())
    ] + ["README", "dataset_description.json", "participants.tsv"]
    assert sel["files"] == expected
    assert sel["size"] == sum((demo / p).stat().st_size for p in expected)
    assert run(["study", str(demo), "--where", "sex == 'F'"]) == 0
    out = capsys.readouterr().out
    assert "2 subjects [01, 03]" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--where", "weight > 3"], 2, "cannot evaluate"),
        (["--subject", "42"], 2, "no such subject"),
        (["--sample", "9"], 2, "cannot sample 9"),
        (["--entity", "task"], 2, "key=value"),
    ],
)
def test_study_bad_input(demo: Path, args, code, message, capsys) -> None:
    assert run(["study", str(demo), *args]) == code
    err = capsys.readouterr().err
    assert message in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_study_where_without_participants(demo: Path, capsys) -> None:
    (demo / "participants.tsv").unlink()
    assert run(["study", str(demo), "--where", "age > 3"]) == 3
    assert "no participants.tsv" in capsys.readouterr().err
