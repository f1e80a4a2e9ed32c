"""Layouts that tools read differently, read as pybids and pyAFQ's S3BIDSStudy read them.

- BEP038 templates (``tpl-<label>/[cohort-<label>/]<datatype>/``): the datatype folder counts,
  as pybids has it; the files belong to no subject.
- A subject's own file at the root of a pipeline (``derivatives/fmriprep/sub-10.html``, the
  report fMRIPrep and QSIPrep write) belongs to that subject, as pybids and S3BIDSStudy have it.

The layouts are real: ``atlas-Schaefer`` from the BIDS examples, and ``ds001`` (OpenNeuro
ds000001) with its fMRIPrep output ``ds000001-fmriprep`` as ``derivatives/fmriprep/``, served
by SeaweedFS.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from brainbucket import Mirror, Study
from brainbucket.bids import selector, validate
from brainbucket.cli import run
from cli_text import messages

# The dataset tests/bids/conftest.py puts together (ds001 with its fMRIPrep output).
WITH_FMRIPREP = "ds001-with-fmriprep"

REPORTS = {f"derivatives/fmriprep/sub-{s}.html" for s in ("10", "11", "13", "16")}


@pytest.fixture
def study_of(examples_bucket: str, s3_env: dict[str, str]):
    def _open(name: str) -> Study:
        return Study(f"s3://{examples_bucket}/{name}")

    return _open


# -- templates -------------------------------------------------------------------------------


def test_template_files_have_their_datatype_and_no_subject(study_of, pybids_layouts) -> None:
    study = study_of("atlas-Schaefer")
    layout: Any = pybids_layouts["atlas-Schaefer"]
    assert study.datatypes() == sorted(layout.get_datatypes()) == ["anat"]
    assert study.subjects() == sorted(layout.get_subjects()) == []
    assert study.templates() == ["MNI152NLin6Asym"]
    tpl = study.files(template="MNI152NLin6Asym")
    assert {f.path for f in tpl} == {
        bf.relpath for bf in layout.get(datatype="anat") if bf.relpath.startswith("tpl-")
    }
    assert {(f.level, f.datatype, f.subject) for f in tpl} == {("template", "anat", None)}
    assert study.bidsish() == []


def test_a_datatype_selects_template_files_and_a_subject_does_not(study_of) -> None:
    study = study_of("atlas-Schaefer")
    anat = selector(study, datatype="anat")
    assert len([p for p in anat.paths if p.startswith("tpl-MNI152NLin6Asym/anat/")]) == 8
    t1w = selector(study, suffix="T1w")
    assert sorted(p for p in t1w.paths if p.startswith("tpl-")) == [
        "tpl-MNI152NLin6Asym/anat/tpl-MNI152NLin6Asym_res-2_T1w.json",
        "tpl-MNI152NLin6Asym/anat/tpl-MNI152NLin6Asym_res-2_T1w.nii.gz",
    ]


def test_cohort_folders_and_contradictions() -> None:
    from brainbucket.bids import parse_key

    f = parse_key("tpl-MNIInfant/cohort-2/anat/tpl-MNIInfant_cohort-2_atlas-4S_dseg.nii.gz")
    assert (f.level, f.datatype, f.subject, f.problem) == ("template", "anat", None, None)
    assert f.entities == {"template": "MNIInfant", "cohort": "2", "atlas": "4S"}
    # TemplateFlow keeps files directly in tpl-<label>/, without a datatype folder.
    flat = parse_key("tpl-MNI152NLin2009cAsym/tpl-MNI152NLin2009cAsym_res-01_T1w.nii.gz")
    assert (flat.level, flat.datatype, flat.suffix, flat.problem) == ("template", None, "T1w", None)
    wrong = parse_key("tpl-A/anat/tpl-B_T1w.nii.gz")
    assert wrong.problem == "file name says tpl-B inside the tpl-A folder"
    lacking = parse_key("tpl-A/cohort-1/anat/tpl-A_T1w.nii.gz")
    assert lacking.problem == "file name lacks cohort-1 of its folder"
    deriv = parse_key("derivatives/atlases/tpl-A/anat/tpl-A_T1w.nii.gz")
    assert (deriv.pipeline, deriv.level, deriv.datatype) == ("atlases", "template", "anat")


def test_validate_accepts_templates_only_in_derivative_datasets(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "tpl-A" / "anat").mkdir(parents=True)
    (raw / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.11.0"}')
    (raw / "tpl-A" / "anat" / "tpl-A_T1w.nii.gz").write_bytes(b"")
    assert [str(p) for p in validate(raw)][1:] == [
        "tpl-A/anat/tpl-A_T1w.nii.gz: a tpl-<label>/ template folder belongs to a derivative "
        'dataset (DatasetType "derivative" in dataset_description.json) '
        "[rules.directories.derivative.template]"
    ]
    (raw / "dataset_description.json").write_text(
        '{"Name": "x", "BIDSVersion": "1.11.0", "DatasetType": "derivative"}'
    )
    assert validate(raw) == []


# -- a subject's files at a pipeline's root --------------------------------------------------


def test_subjects_and_files_per_subject_match_pybids(study_of, pybids_layouts) -> None:
    study = study_of(WITH_FMRIPREP)
    layout: Any = pybids_layouts[WITH_FMRIPREP]  # derivatives=True
    assert study.subjects() == sorted(layout.get_subjects())
    assert study.datatypes() == sorted(layout.get_datatypes())
    for subject in ("10", "13", "01"):
        theirs = {
            os.path.relpath(p, layout.root)
            for p in layout.get(subject=subject, return_type="filename")
        }
        assert {f.path for f in study.files(subject=subject)} == theirs, subject
    assert {f.path for f in study.files(subject="10", pipeline="fmriprep")} >= {
        "derivatives/fmriprep/sub-10.html"
    }
    assert not REPORTS & {f.path for f in study.dataset_files()}


# S3BIDSStudy's rule, ported from pyAFQ (yeatmanlab/pyAFQ, AFQ/data/s3bids.py; pyAFQ 3.x no
# longer ships it, and pyAFQ itself pulls in ray, numba and a GPU tracker, too heavy for the
# tests). Each function mirrors the one named; S3 calls as theirs, through boto3, one level
# (s3fs's ls) or a prefix (list_objects_v2), and pybids' parse_file_entities.


class S3BIDSRule:
    """pyAFQ's ``S3BIDSStudy`` answers for one study: its subjects, each subject's keys and
    the keys that are no subject's."""

    def __init__(self, bucket: str, s3_prefix: str) -> None:
        import bids

        self.bucket = bucket
        self.s3_prefix = s3_prefix
        self.s3 = boto3.client("s3")
        # as _ls_s3fs: "Just need BIDSLayout for the `parse_file_entities` method"
        self.layout = bids.BIDSLayout(os.devnull, validate=False)

    def _ls(self, s3_prefix: str) -> dict[str, list[str]]:
        """``_ls_s3fs``: one level below ``bucket/prefix`` (folders and objects, as s3fs's
        ``ls`` names them), split by whether pybids finds a subject in the name."""
        bucket, _, prefix = s3_prefix.partition("/")
        resp = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/", Delimiter="/")
        names = [p["Prefix"].rstrip("/") for p in resp.get("CommonPrefixes", [])]
        names += [o["Key"] for o in resp.get("Contents", [])]
        site_files = [f"{bucket}/{n}" for n in names]
        entities = [self.layout.parse_file_entities(f) for f in site_files]
        return {
            "subjects": [
                f for f, e in zip(site_files, entities, strict=True) if e.get("subject") is not None
            ],
            "other": [
                f for f, e in zip(site_files, entities, strict=True) if e.get("subject") is None
            ],
        }

    def _matching_keys(self, prefix: str) -> list[str]:
        """``_get_matching_s3_keys``: every key starting with ``prefix`` (a plain prefix)."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def all_subjects(self) -> list[str]:
        """``S3BIDSStudy._list_all_subjects`` (without participants.tsv)."""
        site = f"{self.bucket}/{self.s3_prefix}".rstrip("/")
        subs = self._ls(site)["subjects"]
        return sorted({"sub-" + self.layout.parse_file_entities(k)["subject"] for k in subs})

    def derivative_types(self) -> list[str]:
        """``S3BIDSStudy._get_derivative_types``."""
        site = f"{self.bucket}/{self.s3_prefix}".rstrip("/")
        if f"{site}/derivatives" in self._ls(site)["other"]:
            return self._ls(f"{site}/derivatives")["other"]
        return []

    def subject_keys(self, subject_id: str) -> dict[str, Any]:
        """``S3BIDSSubject._get_s3_keys``: a subject's raw and derivative keys, each by the
        plain key prefix ``<root>/sub-<label>``."""
        raw = f"{self.s3_prefix}/{subject_id}".lstrip("/")
        derivs = {
            dt: "/".join([*dt.split("/")[1:], subject_id]).lstrip("/")
            for dt in self.derivative_types()
        }
        return {
            "raw": sorted(set(self._matching_keys(raw))),
            "derivatives": {dt: sorted(set(self._matching_keys(p))) for dt, p in derivs.items()},
        }

    def non_subject_keys(self) -> dict[str, Any]:
        """``S3BIDSStudy._get_non_subject_s3_keys``."""
        site = f"{self.bucket}/{self.s3_prefix}".rstrip("/")
        raw = [k for k in self._ls(site)["other"] if not k.endswith("derivatives")]
        return {
            "raw": raw,
            "derivatives": [self._ls(dt)["other"] for dt in self.derivative_types()],
        }


def test_files_per_subject_match_s3bidsstudy(study_of, examples_bucket: str) -> None:
    study = study_of(WITH_FMRIPREP)
    rule = S3BIDSRule(examples_bucket, WITH_FMRIPREP)
    at = len(WITH_FMRIPREP) + 1  # their keys are the bucket's; ours the study's
    assert [f"sub-{s}" for s in study.subjects()] == rule.all_subjects()
    assert rule.derivative_types() == [f"{examples_bucket}/{WITH_FMRIPREP}/derivatives/fmriprep"]
    for subject in study.subjects():
        keys = rule.subject_keys(f"sub-{subject}")
        theirs = set(keys["raw"]) | {k for ks in keys["derivatives"].values() for k in ks}
        assert {f.path for f in study.files(subject=subject)} == {k[at:] for k in theirs}, subject
    # What is no subject's: files only (their lists hold folders too: code/, logs/ ...), and
    # not hidden ones (.bidsignore): those are brainbucket's "other" files, moved by a whole
    # sync only.
    listed = {p for p in study.index.by_path if not p.rpartition("/")[2].startswith(".")}
    nonsub = rule.non_subject_keys()
    theirs = {k.partition("/")[2][at:] for k in nonsub["raw"]}
    theirs |= {k.partition("/")[2][at:] for ks in nonsub["derivatives"] for k in ks}
    assert {f.path for f in study.dataset_files()} == theirs & listed
    assert not REPORTS & theirs


def test_sync_of_two_subjects_brings_their_reports_only(
    examples_bucket: str, s3_env: dict[str, str], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    url = f"s3://{examples_bucket}/{WITH_FMRIPREP}"
    assert run(["sync", url, str(out), "--subject", "10", "11", "--quiet"]) == 0
    got = {p.relative_to(out).as_posix() for p in out.rglob("*.html") if p.parent.name != "figures"}
    assert got == {"derivatives/fmriprep/sub-10.html", "derivatives/fmriprep/sub-11.html"}
    study = Study(url)
    wanted = {f.path for s in ("10", "11") for f in study.files(subject=s)}
    wanted |= {f.path for f in study.dataset_files()}
    on_disk = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and not p.relative_to(out).as_posix().startswith(".brainbucket/")
    }
    assert on_disk == wanted
    assert messages(capsys.readouterr().err) == []


def test_mirror_answers_per_subject_with_the_report(
    examples_bucket: str, s3_env: dict[str, str], tmp_path: Path
) -> None:
    m = Mirror(f"s3://{examples_bucket}/{WITH_FMRIPREP}", cache_dir=tmp_path / "cache")
    paths = m.files(subject="13", pipeline="fmriprep", extension=".html")
    rel = sorted(p.relative_to(m.layout.files).as_posix() for p in paths)
    assert "derivatives/fmriprep/sub-13.html" in rel
    assert all("sub-13" in r for r in rel)
    assert all(p.is_file() for p in paths)
