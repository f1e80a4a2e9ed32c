"""Subjects, sessions, datatypes and entities of real example datasets, read from S3, agree
with pybids (the test-only oracle) reading the same files from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brainbucket import Study

DATASETS = ("ds114", "synthetic", "ds000001-fmriprep", "dwi_deriv", "ds001", "atlas-Schaefer")

# pybids' names for the entities the BIDS schema spells out in full.
PYBIDS_NAMES = {
    "desc": "description",
    "res": "resolution",
    "den": "density",
    "hemi": "hemisphere",
    "proc": "processing",
    "inv": "inversion",
    "mt": "mtransfer",
    "staining": "stain",
}


# pybids attaches these from other files (e.g. the session's scans.tsv), not from the name.
NOT_FROM_NAME = {"scans"}


@pytest.fixture
def study_of(examples_bucket: str, s3_env: dict[str, str]):
    def _open(name: str) -> Study:
        return Study(f"s3://{examples_bucket}/{name}")

    return _open


@pytest.mark.parametrize("name", DATASETS)
def test_subjects_sessions_datatypes_match_pybids(name: str, study_of, pybids_layouts) -> None:
    study = study_of(name)
    layout: Any = pybids_layouts[name]
    assert study.subjects() == sorted(layout.get_subjects())
    assert study.sessions() == sorted(layout.get_sessions())
    assert study.datatypes() == sorted(layout.get_datatypes())
    assert study.source == "listing"


@pytest.mark.parametrize("name", DATASETS)
def test_every_file_kept_and_entities_match_pybids(name: str, study_of, pybids_layouts) -> None:
    study = study_of(name)
    layout: Any = pybids_layouts[name]
    compared = 0
    for bf in layout.get():
        mine = study.index.by_path.get(bf.relpath)
        assert mine is not None, f"{bf.relpath} missing from the study"
        if mine.level == "other" or (mine.level == "dataset" and mine.suffix is None):
            continue  # entities are read only where BIDS puts them
        # pybids matches its patterns against the whole path, so a dataset kept in a folder
        # named like an entity (atlas-Schaefer/) gets atlas=Schaefer on every file; its own
        # parser given the path below the root reads what brainbucket reads.
        entities = (
            layout.parse_file_entities("/" + bf.relpath)
            if "-" in Path(layout.root).name
            else bf.get_entities(metadata=False)
        )
        expected = {
            PYBIDS_NAMES.get(k, k): v for k, v in entities.items() if k not in NOT_FROM_NAME
        }
        got: dict[str, Any] = dict(mine.entities)
        if mine.level == "template":
            # pybids' configuration has no entity for BEP038's tpl, cohort and scale.
            known = {PYBIDS_NAMES.get(k, k) for k in layout.entities}
            got = {k: v for k, v in got.items() if k in known}
        for attr in ("subject", "datatype", "suffix", "extension"):
            if getattr(mine, attr) is not None:
                got[attr] = getattr(mine, attr)
        if "run" in got:
            got["run"] = int(got["run"])
            expected["run"] = int(expected["run"])
        assert got == {k: (v if k == "run" else str(v)) for k, v in expected.items()}, bf.relpath
        compared += 1
    assert compared > 5


def test_pipelines_and_derivatives(study_of) -> None:
    study = study_of("synthetic")
    assert study.pipelines() == ["fmriprep"]
    deriv = study.files(
        pipeline="fmriprep", subject="01", session="01", suffix="bold", extension=".nii"
    )
    assert deriv
    assert all(f.path.startswith("derivatives/fmriprep/sub-01/ses-01/func/") for f in deriv)
    assert {f.entities["space"] for f in deriv} == {"MNI152NLin2009cAsym", "T1w"}
    raw = study.files(pipeline="raw", subject="01", suffix="bold", extension=".nii")
    assert raw
    assert all(f.pipeline is None for f in raw)
    assert not set(f.path for f in raw) & set(f.path for f in deriv)


def test_bidsish_files_are_kept_and_reported(study_of) -> None:
    study = study_of("ds000001-fmriprep")
    ish = {f.path: f.problem for f in study.bidsish()}
    assert "sub-10.html" in ish
    assert "no suffix" in ish["sub-10.html"]
    assert "sub-10.html" in study.index.by_path


def test_size_before_download(study_of, examples) -> None:
    study = study_of("ds114")
    on_disk = sum(
        p.stat().st_size
        for p in (examples / "ds114").glob("sub-0[12]/ses-test/func/*")
        if p.is_file()
    )
    assert study.size(subject=["01", "02"], session="test", datatype="func") == on_disk
