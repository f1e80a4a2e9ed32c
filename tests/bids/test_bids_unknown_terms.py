"""A datatype, suffix, extension or entity nobody knows is a usage error with the closest
match, in the CLI (exit 2) and in the library (the same message), never an empty selection
that exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import UsageError
from brainbucket._demo import build_demo_study
from brainbucket.bids import Study, selector, vocabulary
from brainbucket.cli import run

DATATYPES = ", ".join(sorted(vocabulary().datatypes))
VERSION = vocabulary().bids_version


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = build_demo_study(tmp_path / "demo", subjects=2)
    # A pipeline's own suffix and extension: unknown to the schema, known to the study.
    tracts = root / "derivatives/dmriprep/sub-01/ses-01/dwi"
    (tracts / "sub-01_ses-01_desc-csd_tractography.trk").write_bytes(b"trk")
    return root


CASES = [
    (
        ["--datatype", "fnuc"],
        {"datatype": "fnuc"},
        "error: unknown BIDS datatype 'fnuc': did you mean func?",
        f"hint: datatypes in BIDS {VERSION}: {DATATYPES}",
    ),
    (
        ["--datatype", "DWI"],
        {"datatype": "DWI"},
        "error: unknown BIDS datatype 'DWI': did you mean dwi?",
        f"hint: datatypes in BIDS {VERSION}: {DATATYPES}",
    ),
    (
        ["--suffix", "t1w"],
        {"suffix": "t1w"},
        "error: unknown BIDS suffix 't1w': did you mean T1w?",
        "hint: suffixes in this study: dwi, T1w, tractography (BIDS",
    ),
    (
        ["--suffix", "tractogrphy"],
        {"suffix": "tractogrphy"},
        "error: unknown BIDS suffix 'tractogrphy': did you mean tractography?",
        "hint: suffixes in this study: dwi, T1w, tractography (BIDS",
    ),
    (
        ["--extension", ".nii.gzz"],
        {"extension": ".nii.gzz"},
        "error: unknown BIDS extension '.nii.gzz': did you mean .nii.gz?",
        "hint: extensions in this study: .bval, .bvec, .json, .nii, .nii.gz, .trk, .tsv",
    ),
    (
        ["--entity", "tsak=rest"],
        {"tsak": "rest"},
        "error: unknown BIDS entity 'tsak': did you mean task?",
        f"hint: entities in BIDS {VERSION}: acq, atlas, ce,",
    ),
    (
        ["--datatype", "xyzzy"],
        {"datatype": "xyzzy"},
        "error: unknown BIDS datatype 'xyzzy'",
        f"hint: datatypes in BIDS {VERSION}: {DATATYPES}",
    ),
]


CLI_CASES = [
    (command, options, first, hint)
    for command in ("study", "get", "sync", "status", "mirror")
    for options, _, first, hint in CASES
]


@pytest.mark.parametrize(("command", "options", "first", "hint"), CLI_CASES)
def test_the_cli_refuses_an_unknown_term(
    demo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    options: list[str],
    first: str,
    hint: str,
) -> None:
    cache = str(tmp_path / "cache")
    if command == "mirror":  # a mirror to verify, which has listed the study
        assert (
            run(["get", str(demo), "--subject", "01", "--datatype", "anat", "--cache-dir", cache])
            == 0
        )
        capsys.readouterr()
    args = {
        "study": ["study", str(demo)],
        "get": ["get", str(demo), "--cache-dir", cache],
        "sync": ["sync", str(demo), str(tmp_path / "out")],
        "status": ["status", str(demo), str(tmp_path / "out")],
        "mirror": ["mirror", "verify", str(demo), "--cache-dir", cache],
    }[command]
    code = run([*args, *options])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.splitlines()
    assert lines[0] == first
    assert lines[1].startswith(hint)
    assert captured.out == ""
    assert not (tmp_path / "out").exists()  # nothing was synced


@pytest.mark.parametrize(("_options", "kw", "first", "_hint"), CASES)
def test_the_library_says_the_same(
    demo: Path, _options: list[str], kw: dict[str, str], first: str, _hint: str
) -> None:
    study = Study(demo)
    with pytest.raises(UsageError) as err:
        study.files(**kw)
    assert f"error: {err.value}" == first
    with pytest.raises(UsageError) as err2:
        selector(study, **kw)
    assert str(err2.value) == str(err.value)
    assert err.value.hint == err2.value.hint


def test_known_terms_still_select(demo: Path) -> None:
    study = Study(demo)
    assert study.files(datatype="func") == []  # in the schema, absent here: simply none
    assert [f.suffix for f in study.files(suffix="tractography")] == ["tractography"]
    assert [f.extension for f in study.files(extension="trk")] == [".trk"]
    assert study.files(acquisition="x") == []  # entities by long name too
    assert len(study.files(subject="01", datatype="dwi", pipeline="raw")) == 4
