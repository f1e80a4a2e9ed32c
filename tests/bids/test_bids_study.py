"""Study queries, participants.tsv selection and random samples, on S3 and on a local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import ObjectNotFoundError, Study, UsageError, ValidationError
from brainbucket._demo import build_demo_study
from brainbucket.bids import selector
from brainbucket.store import Store


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return build_demo_study(tmp_path / "demo", subjects=6, sessions=2)


@pytest.fixture
def study(store: Store, demo: Path, upload) -> Study:
    """The demo study on each backend (S3 and a local folder)."""
    upload(store, demo)
    return Study(store=store)


def test_queries(study: Study, demo: Path) -> None:
    assert study.subjects() == [f"{i:02d}" for i in range(1, 7)]
    assert study.sessions() == ["01", "02"]
    assert study.datatypes() == ["anat", "dwi"]
    assert study.pipelines() == ["dmriprep"]
    files = study.files(subject="sub-03", session="02", datatype="dwi", pipeline="raw")
    expected = sorted(
        p.relative_to(demo).as_posix() for p in (demo / "sub-03/ses-02/dwi").iterdir()
    )
    assert sorted(f.path for f in files) == expected
    assert study.size(subject="03", session="02", datatype="dwi", pipeline="raw") == sum(
        (demo / p).stat().st_size for p in expected
    )


def test_participants_table(study: Study) -> None:
    df = study.participants
    assert list(df.index) == [f"{i:02d}" for i in range(1, 7)]
    assert set(df.columns) >= {"participant_id", "age", "sex"}
    # demo ages are 20 + 7 i; sexes alternate F, M
    assert study.select(where="age > 30 and sex == 'F'") == ["03", "05"]
    assert study.select(where="age > 100") == []


def test_sample_is_reproducible_and_seeded(study: Study) -> None:
    a = study.sample(3, seed=0)
    assert a == study.sample(3, seed=0)
    assert len(a) == 3
    assert set(a) <= set(study.subjects())
    draws = {tuple(study.sample(3, seed=s)) for s in range(10)}
    assert len(draws) > 1  # different seeds give different subjects
    with pytest.raises(UsageError, match="cannot sample 7 subjects from 6"):
        study.sample(7)


def test_bad_where_names_the_columns(study: Study) -> None:
    with pytest.raises(UsageError, match="cannot evaluate") as info:
        study.select(where="height > 2")
    assert "participant_id, age, sex" in (info.value.hint or "")
    with pytest.raises(UsageError):
        study.select(where="age >")


def test_missing_participants_tsv(tmp_path: Path) -> None:
    root = build_demo_study(tmp_path / "s", subjects=2)
    (root / "participants.tsv").unlink()
    study = Study(root)
    with pytest.raises(ObjectNotFoundError, match=r"no participants\.tsv") as info:
        study.select(where="age > 1")
    assert "--sample" in (info.value.hint or "")
    assert study.subjects() == ["01", "02"]  # everything else still works


def test_incomplete_participants_tsv(tmp_path: Path) -> None:
    root = build_demo_study(tmp_path / "s", subjects=2)
    (root / "participants.tsv").write_text("subject\tage\nsub-01\t30\n")
    with pytest.raises(ValidationError, match="no participant_id column"):
        _ = Study(root).participants
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\t30\nsub-01\t31\n")
    with pytest.raises(ValidationError, match="more than once: 01"):
        _ = Study(root).participants
    # n/a values and participants without a row simply do not match
    (root / "participants.tsv").write_text("participant_id\tage\nsub-01\tn/a\n")
    assert Study(root).select(where="age > 0") == []


def test_selector_requested_plus_dataset_level(study: Study, demo: Path) -> None:
    sel = selector(study, subject=["01", "04"], session="01", datatype="dwi", pipeline="dmriprep")
    expected = {
        p.relative_to(demo).as_posix()
        for sub in ("01", "04")
        for p in (demo / f"derivatives/dmriprep/sub-{sub}/ses-01/dwi").iterdir()
    }
    expected |= {"README", "dataset_description.json", "participants.tsv"}
    expected |= {"derivatives/dmriprep/dataset_description.json"}
    assert sel.paths == expected
    assert sel.size == sum((demo / p).stat().st_size for p in expected)
    assert sel.subjects == ("01", "04")
    assert sel("sub-01/ses-01/dwi/sub-01_ses-01_dwi.bval") is False  # raw data not asked for


def test_selector_where_then_sample(study: Study) -> None:
    sel = selector(study, where="sex == 'M'", sample=2, seed=3)
    assert len(sel.subjects) == 2
    assert set(sel.subjects) <= {"02", "04", "06"}
    assert sel.subjects == selector(study, where="sex == 'M'", sample=2, seed=3).subjects
    picked = {f.subject for f in sel.files if f.subject}
    assert picked == set(sel.subjects)


def test_selector_rejects_unknown_subject_and_pipeline(study: Study) -> None:
    with pytest.raises(UsageError, match=r"no such subject.*sub-99"):
        selector(study, subject=["01", "99"])
    with pytest.raises(UsageError, match=r"no such pipeline.*fmriprep"):
        selector(study, pipeline="fmriprep")
