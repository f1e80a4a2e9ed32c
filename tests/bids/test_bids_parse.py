"""The key parser: entities from names, only at BIDS places; non-BIDS files kept and flagged."""

from __future__ import annotations

import pytest

from brainbucket.bids import StudyIndex, find_root, parse_key, vocabulary


def test_vocabulary_is_loaded_once_from_the_schema() -> None:
    v = vocabulary()
    assert vocabulary() is v
    assert v.entity_long["acq"] == "acquisition"
    assert v.entity_order["subject"] < v.entity_order["session"] < v.entity_order["run"]
    assert {"anat", "dwi", "func"} <= v.datatypes


def test_raw_file_entities() -> None:
    f = parse_key("sub-01/ses-pre/func/sub-01_ses-pre_task-rest_acq-fast_run-02_bold.nii.gz")
    assert (f.subject, f.session, f.datatype, f.suffix, f.extension) == (
        "01",
        "pre",
        "func",
        "bold",
        ".nii.gz",
    )
    assert f.entities == {
        "subject": "01",
        "session": "pre",
        "task": "rest",
        "acquisition": "fast",
        "run": "02",
    }
    assert f.level == "subject"
    assert f.pipeline is None
    assert f.problem is None


def test_derivatives_pipeline_attribute() -> None:
    f = parse_key("derivatives/dmriprep/sub-03/dwi/sub-03_space-T1w_desc-preproc_dwi.nii.gz")
    assert f.pipeline == "dmriprep"
    assert f.subject == "03"
    assert f.datatype == "dwi"
    assert f.entities["space"] == "T1w"
    assert f.entities["description"] == "preproc"
    assert f.problem is None
    top = parse_key("derivatives/dmriprep/dataset_description.json")
    assert top.pipeline == "dmriprep"
    assert top.level == "dataset"


def test_folder_names_above_the_root_are_never_entities() -> None:
    keys = ["atlas-4S/dataset_description.json", "atlas-4S/tpl-MNI/tpl-MNI_atlas-4S_dseg.nii.gz"]
    assert find_root(keys) == "atlas-4S/"
    index = StudyIndex([(k, 1, None, None, None) for k in keys], root="atlas-4S/")
    dseg = index.by_path["atlas-4S/tpl-MNI/tpl-MNI_atlas-4S_dseg.nii.gz"]
    assert dseg.subject is None
    # the folder atlas-4S/ is stripped; nothing but the name carries entities
    assert all(f.entities.get("atlas") in (None, "4S") for f in index)
    assert index.by_path["atlas-4S/dataset_description.json"].level == "dataset"


def test_only_subject_folders_at_bids_places_count() -> None:
    f = parse_key("sourcedata/sub-01/raw.dcm")
    assert f.subject is None
    assert f.level == "other"
    assert f.problem is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("sub-01/anat/sub-01_T1.nii.gz", "'T1' is not a BIDS suffix"),
        ("sub-01/anatomy/sub-01_T1w.nii.gz", "'anatomy' is not a BIDS datatype folder"),
        ("sub-01/anat/sub-02_T1w.nii.gz", "does not start with sub-01"),
        ("sub-01/anat/sub-01_foo-bar_T1w.nii.gz", "'foo' is not a BIDS entity"),
        ("sub-01/anat/sub-01_run-1_acq-x_T1w.nii.gz", "not in the order"),
        ("sub-01/anat/sub-01_bad_T1w.nii", "'bad' is not a key-value entity"),
        ("sub-01.html", "no suffix"),
        ("extra/notes.txt", "'extra/' is not a BIDS folder"),
    ],
)
def test_bidsish_names_are_kept_with_the_reason(key: str, problem: str) -> None:
    f = parse_key(key)
    assert f.problem is not None
    assert problem in f.problem
    index = StudyIndex([(key, 3, None, None, None)])
    assert key in index.by_path  # kept, not dropped


def test_top_level_sidecars_and_dataset_files() -> None:
    side = parse_key("task-rest_bold.json")
    assert side.level == "dataset"
    assert side.suffix == "bold"
    assert side.entities == {"task": "rest"}
    readme = parse_key("README.md")
    assert readme.level == "dataset"
    assert readme.problem is None
    assert readme.entities == {}


def test_brainbucket_metadata_is_not_part_of_the_study() -> None:
    index = StudyIndex(
        [(".brainbucket/root.json", 5, None, None, None), ("README", 1, None, None, None)]
    )
    assert [f.path for f in index] == ["README"]


def test_entity_filters_accept_short_names_and_numbers() -> None:
    keys = [
        "sub-01/func/sub-01_task-rest_acq-a_run-01_bold.nii.gz",
        "sub-01/func/sub-01_task-rest_acq-b_run-2_bold.nii.gz",
        "sub-02/func/sub-02_task-nback_run-1_bold.nii.gz",
    ]
    index = StudyIndex([(k, 1, None, None, None) for k in keys])
    assert [f.path for f in index.query(entities={"run": 1})] == [keys[0], keys[2]]
    assert [f.path for f in index.query(entities={"acq": "b"})] == [keys[1]]
    assert [f.path for f in index.query(subject="sub-02", entities={"task": ["nback", "x"]})] == [
        keys[2]
    ]
    assert index.query(subject="03") == []


def test_memoised_parser_equals_the_plain_parser(data_dir) -> None:
    """The template-memoised parser gives exactly parse_key's answer for every key of the
    110 community example datasets (their file names, kept in tests/data), and for tricky
    shapes."""
    import gzip

    from brainbucket.bids._keyparser import KeyParser

    names = gzip.decompress((data_dir / "bids-examples-keys.txt.gz").read_bytes()).decode()
    names = names.splitlines()
    keys = [n.split("/", 1)[1] for n in names if "/" in n]
    keys += [
        "sub-0004/anat/sub-00042_T1w.nii.gz",
        "sub-01/ses-1/anat/sub-01_ses-11_T1w.nii",
        "sub-/anat/x.nii",
        "sub-01/ses-/a_b.nii",
        "derivatives/sub-01",
        "sub-01/ses-01/sub-01_ses-01_ses-01_dwi.nii",
        "sub-1/ses-1/anat/sub-1_ses-1_acq-sub-1_T1w.nii",
    ]
    assert len(keys) > 15000
    parser = KeyParser()
    for k in keys:
        assert parser.parse(k) == parse_key(k), k
    assert len(parser.templates) < len(keys) / 4  # the memo does its job


def test_folder_files_and_hidden_files_belong_to_their_subject() -> None:
    zarr = parse_key("sub-01/ses-01/micr/sub-01_ses-01_sample-A_XPCT.ome.zarr/0/.zarray")
    assert (zarr.subject, zarr.suffix, zarr.extension, zarr.problem) == (
        "01",
        "XPCT",
        ".ome.zarr",
        None,
    )
    hidden = parse_key("sub-02/.DS_Store")
    assert hidden.subject == "02"
    assert hidden.entities == {}


@pytest.mark.parametrize(
    ("key", "subject", "pipeline", "problem"),
    [
        ("derivatives/qsiprep/sub-03.html", "03", "qsiprep", "file name has no suffix"),
        ("derivatives/fmriprep/sub-03_desc-summary_report.html", "03", "fmriprep", None),
        ("sub-10.html", "10", None, "file name has no suffix"),
        ("sub-01_T1w.nii.gz", "01", None, "file of sub-01 outside its sub-01/ folder"),
    ],
)
def test_a_subjects_file_at_a_root_is_that_subjects(
    key: str, subject: str, pipeline: str | None, problem: str | None
) -> None:
    f = parse_key(key)
    assert (f.subject, f.level, f.pipeline, f.problem) == (subject, "subject", pipeline, problem)
    index = StudyIndex(
        [(key, 1, None, None, None), ("dataset_description.json", 1, None, None, None)]
    )
    assert [g.path for g in index.query(subject=subject)] == [key]
    assert [g.path for g in index.dataset_level] == ["dataset_description.json"]


@pytest.mark.parametrize("key", ["sub-.html", "derivatives/x/sub-a-b.html", "subject-01.html"])
def test_only_a_sub_label_first_makes_a_root_file_a_subjects(key: str) -> None:
    f = parse_key(key)
    assert f.subject is None
    assert f.level == "dataset"
