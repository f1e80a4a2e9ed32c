"""``brainbucket hcp ...``: output, exit codes and the confirmation rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hcp_replica import DWI_SUBJECT, NO_DWI_SUBJECT, PLAIN_SUBJECT, Replica

from brainbucket.cli import run


def _fetch_args(root: Path, *extra: str) -> list[str]:
    return [
        "hcp",
        "fetch",
        DWI_SUBJECT,
        PLAIN_SUBJECT,
        "--to",
        str(root),
        "--profile",
        "hcp",
        *extra,
    ]


def test_ls_lists_subjects(
    hcp_env: dict[str, str], hcp_replica: Replica, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["hcp", "ls"]) == 0
    out, err = capsys.readouterr()
    assert out.split() == hcp_replica.subject_ids
    assert "1113 subjects in HCP_1200" in err


def test_ls_json(
    hcp_env: dict[str, str], hcp_replica: Replica, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["hcp", "ls", "--release", "HCP_1200", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"release": "HCP_1200", "count": 1113, "subjects": hcp_replica.subject_ids}


def test_ls_subjects_shows_sizes_and_skips(
    hcp_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["hcp", "ls", DWI_SUBJECT, NO_DWI_SUBJECT, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["subjects"] == [DWI_SUBJECT]
    assert doc["skipped"] == {NO_DWI_SUBJECT: "no diffusion data (dwi)"}
    assert doc["total_size"] == sum(f["size"] for f in doc["files"]) > 0
    assert run(["hcp", "ls", DWI_SUBJECT, NO_DWI_SUBJECT]) == 0
    out, err = capsys.readouterr()
    assert "sub-100206_ses-01_dwi.nii.gz" in out
    assert "total" in out
    assert f"skipped {NO_DWI_SUBJECT}: no diffusion data" in err


def test_fetch_dry_run_shows_total_and_writes_nothing(
    hcp_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "hcp"
    assert run(_fetch_args(root, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "to download: 16 files" in out
    assert "would fetch HCP_1200/100206/T1w/Diffusion/data.nii.gz" in out
    assert not root.exists()


def test_fetch_refuses_large_download_without_yes(
    hcp_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "hcp"
    code = run(_fetch_args(root, "--confirm-above", "1K"))
    err = capsys.readouterr().err
    assert code == 2
    assert "refusing to download" in err
    assert "--yes" in err
    assert not root.exists()


def test_fetch_with_yes_then_verify(
    hcp_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "hcp"
    assert run(_fetch_args(root, "--confirm-above", "1K", "--yes", "--kinds", "dwi,anat")) == 0
    out = capsys.readouterr().out
    assert "fetched 16 files" in out
    assert (
        root / "derivatives/hcp/sub-100307/ses-01/anat/sub-100307_ses-01_desc-aparcaseg_dseg.nii.gz"
    ).exists()
    assert run(["hcp", "verify", str(root)]) == 0
    assert "all fetched files match" in capsys.readouterr().out
    # A second run has nothing to do, so it needs no confirmation.
    assert run(_fetch_args(root, "--confirm-above", "1K")) == 0
    assert "nothing to fetch: all 16 files are present and verified" in capsys.readouterr().out
    assert run(_fetch_args(root, "--confirm-above", "1K", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["downloaded"] == []
    assert doc["download_size"] == 0
    # Damage one file: verify fails with the integrity exit code.
    bval = root / f"derivatives/hcp/sub-{DWI_SUBJECT}/ses-01/dwi/sub-{DWI_SUBJECT}_ses-01_dwi.bval"
    bval.write_text("0 0 0\n")
    assert run(["hcp", "verify", str(root)]) == 8
    assert "1 fetched files differ" in capsys.readouterr().err


def test_unknown_subject_exit_code_and_matches(
    hcp_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["hcp", "fetch", "100308", "--to", str(tmp_path / "x")]) == 3
    err = capsys.readouterr().err
    assert "subject 100308 is not in HCP_1200" in err
    assert "100307" in err
    assert not (tmp_path / "x").exists()


def test_missing_profile_says_to_configure_it(
    no_profile_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["hcp", "fetch", DWI_SUBJECT, "--to", str(tmp_path / "x")]) == 5
    err = capsys.readouterr().err
    assert "profile 'hcp' not found" in err
    assert "aws configure --profile hcp" in err
    assert run(["hcp", "ls", "--profile", "other"]) == 5
    assert "AWS profile 'other' not found" in capsys.readouterr().err


def test_wrong_keys_exit_code(hcp_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["hcp", "ls", "--profile", "wrong"]) == 5
    assert "rejected the credentials" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kinds", "dwi,t1"], "unknown HCP kind 't1'"),
        (["--release", "HCP1200"], "unknown HCP release 'HCP1200'"),
        (["--confirm-above", "lots"], "not a size: 'lots'"),
        (["--pipeline", "a/b"], "invalid pipeline name"),
    ],
)
def test_bad_options_are_usage_errors(
    hcp_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert run(["hcp", "fetch", DWI_SUBJECT, "--to", str(tmp_path / "x"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_kinds_lists_the_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["hcp", "kinds"]) == 0
    out = capsys.readouterr().out
    assert "T1w/Diffusion_7T/data.nii.gz  →  sub-<id>/ses-7T/dwi/sub-<id>_ses-7T_dwi.nii.gz" in out


def test_fetch_in_a_subprocess_exits_cleanly(hcp_env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "hcp"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "brainbucket", *_fetch_args(root, "--kinds", "dwi")],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fetched 10 files" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_bad_arguments_are_reported_before_credentials(
    no_profile_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["hcp", "fetch", "12345x", "--to", str(tmp_path / "x")]) == 2
    assert "not an HCP subject id: '12345x'" in capsys.readouterr().err
    assert run(["hcp", "ls", DWI_SUBJECT, "--kinds", "dwii"]) == 2
    assert "did you mean dwi" in capsys.readouterr().err
