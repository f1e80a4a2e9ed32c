"""The HCP layout and its BIDS names, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import UsageError
from brainbucket.hcp import KINDS, RELEASES, bids_target
from brainbucket.hcp._layout import check_kinds, check_release, normalize_subject


def test_releases_map_to_prefixes() -> None:
    assert check_release("HCP_1200") == "HCP_1200/"
    assert check_release("q1") == "q1/"
    assert set(RELEASES) == {"HCP_1200", "HCP", "HCP_Retest", "q1"}


def test_unknown_release_suggests_close_names() -> None:
    with pytest.raises(UsageError, match="unknown HCP release 'HCP_120'") as exc:
        check_release("HCP_120")
    assert exc.value.hint is not None
    assert "HCP_1200" in exc.value.hint


def test_kinds_parse_from_text_and_reject_unknown() -> None:
    assert check_kinds("dwi, anat,dwi") == ("dwi", "anat")
    assert check_kinds(["mni"]) == ("mni",)
    with pytest.raises(UsageError, match="unknown HCP kind 'dwi3t'") as exc:
        check_kinds("dwi3t")
    assert "dwi" in (exc.value.hint or "")
    with pytest.raises(UsageError, match="no kinds"):
        check_kinds(" , ")


@pytest.mark.parametrize("given", ["100206", "sub-100206", 100206, " 100206 "])
def test_subject_ids_normalise(given: object) -> None:
    assert normalize_subject(given) == "100206"  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["10020", "1002066", "sub-abc", "../100206", "100206/", ""])
def test_malformed_subject_ids_are_refused(bad: str) -> None:
    with pytest.raises(UsageError, match="not an HCP subject id"):
        normalize_subject(bad)


def test_every_mapped_name_is_valid_bids(tmp_path: Path, bids_problems) -> None:
    """Build the derivative tree every kind maps to and check it against the BIDS schema."""
    targets = []
    for kind in KINDS.values():
        for name in kind.files or {"x.nii.gz": ""}:
            key = f"HCP_1200/100206/{kind.folder}{name}"
            targets.append(bids_target("100206", kind, key, "HCP_1200/"))
    assert len(set(targets)) == len(targets)  # no two files share a name
    (tmp_path / "dataset_description.json").write_text("{}")
    for t in targets:
        (tmp_path / t).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / t).write_bytes(b"")
    assert bids_problems(tmp_path) == []
    # The check itself can fail: a made-up suffix is caught.
    bad = tmp_path / "sub-100206/ses-01/dwi/sub-100206_ses-01_graddev.nii.gz"
    bad.write_bytes(b"")
    assert bids_problems(tmp_path) == ["/sub-100206/ses-01/dwi/sub-100206_ses-01_graddev.nii.gz"]


def test_bids_names_of_the_pyafq_files() -> None:
    def target(kind: str, rel: str) -> str:
        return bids_target("100206", KINDS[kind], f"HCP_1200/100206/{rel}", "HCP_1200/")

    assert (
        target("dwi", "T1w/Diffusion/data.nii.gz")
        == "sub-100206/ses-01/dwi/sub-100206_ses-01_dwi.nii.gz"
    )
    assert (
        target("dwi", "T1w/Diffusion/bvecs") == "sub-100206/ses-01/dwi/sub-100206_ses-01_dwi.bvec"
    )
    assert (
        target("dwi7t", "T1w/Diffusion_7T/bvals")
        == "sub-100206/ses-7T/dwi/sub-100206_ses-7T_dwi.bval"
    )
    assert target("anat", "T1w/aparc+aseg.nii.gz") == (
        "sub-100206/ses-01/anat/sub-100206_ses-01_desc-aparcaseg_dseg.nii.gz"
    )
    assert target("dwi", "T1w/Diffusion/grad_dev.nii.gz") == (
        "sourcedata/HCP_1200/100206/T1w/Diffusion/grad_dev.nii.gz"
    )
