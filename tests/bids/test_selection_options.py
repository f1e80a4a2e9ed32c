"""One set of BIDS selection options: the same names, help and parsing in ``get``, ``sync``,
``status``, ``study`` and ``mirror status|verify``, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainbucket import open_store
from brainbucket._demo import build_demo_study
from brainbucket.cli import run

FILTER_FLAGS = (
    "--subject",
    "--session",
    "--datatype",
    "--suffix",
    "--extension",
    "--pipeline",
    "--entity",
)
PICK_FLAGS = ("--sample", "--seed", "--where")
COMMANDS = {
    ("get",): FILTER_FLAGS,
    ("mirror", "status"): FILTER_FLAGS,
    ("mirror", "verify"): FILTER_FLAGS,
    ("sync",): FILTER_FLAGS + PICK_FLAGS,
    ("status",): FILTER_FLAGS + PICK_FLAGS,
    ("study",): FILTER_FLAGS + PICK_FLAGS,
}
# Always part of a selection: what makes it a usable dataset.
DATASET_FILES = {
    "README",
    "dataset_description.json",
    "participants.tsv",
    "derivatives/dmriprep/dataset_description.json",
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _options(path: tuple[str, ...]) -> dict[str, tuple[str, str | None]]:
    from typer.main import get_command

    from brainbucket.cli._app import app
    from brainbucket.cli._register import load

    load(list(path))
    command = get_command(app)
    for word in path:
        command = command.commands[word]  # type: ignore[attr-defined]
    return {
        opt: (p.help, p.metavar)
        for p in command.params
        for opt in getattr(p, "opts", ())
        if opt in FILTER_FLAGS + PICK_FLAGS
    }


def test_the_same_options_with_the_same_help_everywhere() -> None:
    seen: dict[str, tuple[str, str | None]] = {}
    for path, flags in COMMANDS.items():
        options = _options(path)
        assert set(options) == set(flags), path
        for flag, described in options.items():
            assert seen.setdefault(flag, described) == described, (path, flag)
    assert seen["--entity"][1] == "KEY=VALUE"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return build_demo_study(tmp_path / "demo", subjects=3)


def _planned(out: str) -> set[str]:
    return {a["path"] for a in json.loads(out)["actions"]}


@pytest.mark.parametrize(
    "subjects",
    [["01", "02"], ["01,02"], ["01", "--subject", "02"], ["sub-01", "sub-02"]],
    ids=["after one flag", "commas", "repeated", "with sub-"],
)
def test_status_selects_like_sync_with_several_values_written_any_way(
    subjects: list[str],
    demo: Path,
    bucket: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"s3://{bucket}/study"
    argv = [str(demo), url, "--subject", *subjects, "--datatype", "anat", "--json"]
    code, out, _ = cli(capsys, "status", *argv)
    assert code == 0
    planned = _planned(out)
    assert planned == DATASET_FILES | {
        f"sub-{s}/ses-01/anat/sub-{s}_ses-01_T1w.{ext}"
        for s in ("01", "02")
        for ext in ("nii", "json")
    }
    code, out, _ = cli(capsys, "sync", *argv)
    assert code == 0
    assert json.loads(out)["transferred"] == len(planned)
    assert {
        o.path for o in open_store(url).walk() if not o.path.startswith(".brainbucket/")
    } == planned


def test_suffix_extension_and_entity_everywhere(
    demo: Path, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{bucket}/study"
    assert run(["sync", str(demo), url, "-q"]) == 0
    picks = ["--suffix", "dwi", "--extension", ".bval", "--entity", "space=T1w", "desc=preproc"]
    want = {
        f"derivatives/dmriprep/sub-0{i}/ses-01/dwi/sub-0{i}_ses-01_space-T1w_desc-preproc_dwi.bval"
        for i in (1, 2, 3)
    }
    code, out, _ = cli(capsys, "status", url, str(tmp_path / "down"), *picks, "--json")
    assert code == 0
    assert _planned(out) == DATASET_FILES | want
    code, out, _ = cli(capsys, "get", url, *picks, "--cache-dir", str(tmp_path / "cache"))
    assert code == 0
    assert {line.split("/files/", 1)[1] for line in out.splitlines()} == want
    code, out, _ = cli(capsys, "study", url, *picks, "--json")
    assert code == 0
    assert json.loads(out)["selection"]["count"] == len(DATASET_FILES | want)


def test_mirror_status_and_verify_of_a_selection(
    demo: Path, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{bucket}/study"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert run(["sync", str(demo), url, "-q"]) == 0
    code, out, _ = cli(capsys, "get", url, "--subject", "01", "02", "--pipeline", "raw", *cache)
    assert code == 0
    paths = [Path(p) for p in out.splitlines()]
    sub01 = [p for p in paths if "/sub-01/" in p.as_posix()]
    assert len(paths) == 12
    assert len(sub01) == 6

    code, out, _ = cli(capsys, "mirror", "status", url, "--subject", "01", "--json", *cache)
    assert code == 0
    (row,) = json.loads(out)["mirrors"]
    assert (row["files"], row["size"]) == (6, sum(p.stat().st_size for p in sub01))
    code, out, _ = cli(capsys, "mirror", "status", "--subject", "01", "--json", *cache)
    assert json.loads(out)["mirrors"][0]["files"] == 6  # every mirror, the same selection

    damaged = next(p for p in paths if "/sub-02/" in p.as_posix() and p.suffix == ".json")
    damaged.write_text('{"changed": true}')
    code, out, _ = cli(capsys, "mirror", "verify", url, "--subject", "01", *cache)
    assert (code, out.splitlines()[0]) == (0, "6 files checked, 0 damaged")
    code, out, err = cli(capsys, "mirror", "verify", url, "--subject", "02", *cache)
    assert code == 8
    assert out.splitlines()[0] == f"damaged, removed: {damaged.as_posix().split('/files/', 1)[1]}"
    assert err.splitlines()[0] == "error: 1 of 6 cached files were damaged and removed"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_a_malformed_entity_is_the_same_error_everywhere(
    path: tuple[str, ...], demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = {
        ("get",): [str(demo), "--cache-dir", str(tmp_path)],
        ("mirror", "status"): ["--cache-dir", str(tmp_path)],
        ("mirror", "verify"): [str(demo), "--cache-dir", str(tmp_path)],
        ("sync",): [str(demo), str(tmp_path / "out")],
        ("status",): [str(demo), str(tmp_path / "out")],
        ("study",): [str(demo)],
    }[path]
    code, _, err = cli(capsys, *path, *where, "--entity", "task")
    assert code == 2
    assert err.splitlines()[0] == "error: --entity takes key=value, not 'task'"
