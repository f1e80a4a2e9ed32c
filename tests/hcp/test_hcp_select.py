"""Browsing and selecting subjects in the HCP replica, with a profile from AWS files."""

from __future__ import annotations

import pytest
from hcp_replica import (
    DWI_SUBJECT,
    NO_DWI_SUBJECT,
    PLAIN_SUBJECT,
    SUBJECT_7T,
    SUBJECTS,
    Replica,
)

from brainbucket import (
    CredentialsError,
    InvalidCredentialsError,
    NoCredentialsError,
    ObjectNotFoundError,
    UsageError,
    hcp,
)
from brainbucket.hcp import HCP


def test_subjects_lists_the_release(
    hcp_env: dict[str, str], hcp_replica: Replica, data_dir
) -> None:
    """All 1,113 subjects: more than one listing page of 1,000 common prefixes."""
    ids = hcp.subjects(profile="hcp")
    assert (
        ids
        == hcp_replica.subject_ids
        == sorted((data_dir / "hcp1200_subject_ids.txt").read_text().split())
    )
    assert len(ids) == 1113
    assert set(SUBJECTS) <= set(ids)
    assert hcp.subjects("HCP_Retest", profile="hcp") == []


def test_default_profile_is_hcp(hcp_env: dict[str, str], hcp_replica: Replica) -> None:
    assert HCP().profile == "hcp"
    assert HCP().subjects() == hcp_replica.subject_ids


def test_files_of_one_subject(hcp_env: dict[str, str], hcp_replica: Replica) -> None:
    files = hcp.files(DWI_SUBJECT, ("dwi", "anat"), profile="hcp")
    keys = sorted(f.key for f in files)
    expected = hcp_replica.keys(DWI_SUBJECT, "T1w/Diffusion/") + [
        f"HCP_1200/{DWI_SUBJECT}/T1w/{n}"
        for n in ("T1w_acpc_dc.nii.gz", "T1w_acpc_dc_restore_1.25.nii.gz", "aparc+aseg.nii.gz")
    ]
    assert keys == sorted(expected)
    for f in files:
        body = hcp_replica.objects[f.key]
        assert f.size == len(body)
        assert f.subject == DWI_SUBJECT
    data = next(f for f in files if f.key.endswith("Diffusion/data.nii.gz"))
    assert data.target == f"sub-{DWI_SUBJECT}/ses-01/dwi/sub-{DWI_SUBJECT}_ses-01_dwi.nii.gz"
    assert data.kind == "dwi"


def test_whole_folder_kind(hcp_env: dict[str, str], hcp_replica: Replica) -> None:
    files = hcp.files(DWI_SUBJECT, "mni", profile="hcp")
    assert sorted(f.key for f in files) == hcp_replica.keys(DWI_SUBJECT, "MNINonLinear/")
    assert all(f.target == f"sourcedata/{f.key}" for f in files)


def test_select_sizes_and_skips(hcp_env: dict[str, str], hcp_replica: Replica) -> None:
    sel = hcp.select(
        [DWI_SUBJECT, f"sub-{NO_DWI_SUBJECT}", SUBJECT_7T], ("dwi", "dwi7t", "anat"), profile="hcp"
    )
    assert sel.subjects == [DWI_SUBJECT, SUBJECT_7T]
    assert sel.skipped == {NO_DWI_SUBJECT: "no diffusion data (dwi, dwi7t)"}
    assert sel.missing == {DWI_SUBJECT: ["dwi7t"]}
    sizes = sel.size_by_subject()
    for s in sel.subjects:
        assert sizes[s] == sum(len(hcp_replica.objects[f.key]) for f in sel.files if f.subject == s)
    assert sel.total_size == sum(sizes.values())
    targets = [f.target for f in sel.files if f.subject == SUBJECT_7T]
    assert f"sub-{SUBJECT_7T}/ses-7T/dwi/sub-{SUBJECT_7T}_ses-7T_dwi.nii.gz" in targets
    assert f"sub-{SUBJECT_7T}/ses-01/dwi/sub-{SUBJECT_7T}_ses-01_dwi.nii.gz" in targets


def test_subject_without_diffusion_keeps_anat_when_no_dwi_asked(hcp_env: dict[str, str]) -> None:
    sel = hcp.select([NO_DWI_SUBJECT], "anat", profile="hcp")
    assert sel.skipped == {}
    assert len(sel.files) == 3


def test_unknown_subject_names_close_matches(hcp_env: dict[str, str]) -> None:
    with pytest.raises(ObjectNotFoundError, match="subject 100207 is not in HCP_1200") as exc:
        hcp.select([PLAIN_SUBJECT, "100207"], profile="hcp")
    hint = exc.value.hint or ""
    assert hint.startswith("close matches: ")
    assert "100206" in hint.split(";")[0]


def test_malformed_subject_is_a_usage_error(hcp_env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="not an HCP subject id"):
        hcp.select(["10020x"], profile="hcp")


def test_missing_named_profile_says_how_to_create_it(hcp_env: dict[str, str]) -> None:
    with pytest.raises(CredentialsError, match="AWS profile 'nope' not found") as exc:
        HCP(profile="nope")
    assert "aws configure --profile nope" in (exc.value.hint or "")


def test_no_profile_and_no_keys(no_profile_env: None) -> None:
    with pytest.raises(NoCredentialsError, match="profile 'hcp' not found") as exc:
        hcp.subjects()
    assert "aws configure --profile hcp" in (exc.value.hint or "")
    assert "AWS_ACCESS_KEY_ID" in (exc.value.hint or "")


def test_keys_from_the_environment_without_profile(
    no_profile_env: None, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    ro = s3_server.identity("readonly")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ro.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ro.secret_key)
    client = HCP()
    assert client.profile is None
    assert DWI_SUBJECT in client.subjects()


def test_wrong_keys_name_the_profile(hcp_env: dict[str, str]) -> None:
    with pytest.raises(InvalidCredentialsError, match="check profile 'wrong'") as exc:
        hcp.subjects(profile="wrong")
    assert "aws configure --profile wrong" in (exc.value.hint or "")
    assert "wrongwrong" not in str(exc.value) + (exc.value.hint or "")


def test_repr_holds_no_secret(hcp_env: dict[str, str], s3_server) -> None:
    text = repr(HCP())
    assert "hcp" in text
    assert s3_server.identity("readonly").secret_key not in text
