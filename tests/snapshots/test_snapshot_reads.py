"""ls, tree, du, cat and cp of a snapshot answer as of the tag, after overwrites and deletes."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from brainbucket.cli import run
from cli_text import messages

from ._study import FILES, write_tree


@pytest.fixture
def moved_on(study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``study`` tagged ``v1``, then one file overwritten, one deleted and one added."""
    assert run(["tag", study, "v1"]) == 0
    src = tmp_path / "src"
    (src / "sub-01/anat/sub-01_T1w.nii.gz").write_bytes(os.urandom(4321))
    (src / "sub-02/anat/sub-02_T1w.json").unlink()
    write_tree(src, {"sub-03/anat/sub-03_T1w.nii.gz": os.urandom(700)})
    assert run(["sync", str(src), study, "--delete", "--quiet"]) == 0
    capsys.readouterr()
    return study


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stdout_bytes(monkeypatch: pytest.MonkeyPatch, *args: str) -> bytes:
    """What the command writes to standard output, as bytes (its exit code must be 0)."""
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer)
    with monkeypatch.context() as m:
        m.setattr(sys, "stdout", text)
        assert run(list(args)) == 0
    text.flush()
    return buffer.getvalue()


def test_ls_of_a_snapshot_lists_its_manifest(
    moved_on: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "ls", f"{moved_on}@v1")
    assert code == 0, err
    assert [line.split()[-1] for line in out.splitlines()] == [
        "participants.tsv",
        "sub-01/",
        "sub-02/",
    ]  # neither sub-03 (added since) nor the study's own .brainbucket/
    code, out, err = cli(capsys, "ls", "-r", f"{moved_on}@v1")
    assert code == 0, err
    listed = {line.split()[-1]: int(line.split()[-2]) for line in out.splitlines()}
    assert listed == {p: len(data) for p, data in FILES.items()}
    code, out, _ = cli(capsys, "ls", "--json", f"{moved_on}/sub-02/anat@v1")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in rows] == ["sub-02_T1w.json", "sub-02_T1w.nii.gz"]  # as below it
    assert all(r["version_id"] and r["sha256"].startswith("sha256:") for r in rows)
    # The live study has moved on.
    _, out, _ = cli(capsys, "ls", "-r", moved_on)
    assert "sub-03/anat/sub-03_T1w.nii.gz" in out
    assert "sub-02_T1w.json" not in out


def test_tree_and_du_of_a_snapshot(moved_on: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "tree", f"{moved_on}@v1", "--depth", "3")
    assert code == 0, err
    assert "sub-02_T1w.json" in out
    assert "sub-03" not in out
    code, out, err = cli(capsys, "du", "--json", f"{moved_on}@v1")
    assert code == 0, err
    du = json.loads(out)
    assert du["total"]["size"] == sum(len(d) for d in FILES.values())
    assert du["total"]["count"] == len(FILES)
    assert [c["path"] for c in du["children"]] == ["participants.tsv", "sub-01/", "sub-02/"]


def test_cat_and_cp_read_the_tagged_bytes(
    moved_on: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overwritten = "sub-01/anat/sub-01_T1w.nii.gz"
    deleted = "sub-02/anat/sub-02_T1w.json"
    for path in (overwritten, deleted):
        assert stdout_bytes(monkeypatch, "cat", f"{moved_on}/{path}@v1") == FILES[path]
    assert run(["cp", f"{moved_on}/{overwritten}@v1", str(tmp_path / "out") + "/"]) == 0
    assert (tmp_path / "out" / "sub-01_T1w.nii.gz").read_bytes() == FILES[overwritten]
    assert stdout_bytes(monkeypatch, "cp", f"{moved_on}/{deleted}@v1", "-") == FILES[deleted]
    # The live object is the new one.
    assert stdout_bytes(monkeypatch, "cat", f"{moved_on}/{overwritten}") != FILES[overwritten]


@pytest.mark.parametrize("command", ["cat", "cp"])
def test_a_path_not_in_the_snapshot_is_named(
    moved_on: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    url = f"{moved_on}/sub-03/anat/sub-03_T1w.nii.gz@v1"  # added after the tag
    args = [command, url] + ([str(tmp_path / "x")] if command == "cp" else [])
    code, _, err = cli(capsys, *args)
    assert code == 3
    assert messages(err)[0] == f"error: {url}: no such file in snapshot v1"
    assert not (tmp_path / "x").exists()


def test_ls_of_a_folder_not_in_the_snapshot(
    moved_on: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "ls", f"{moved_on}/sub-03@v1")
    assert code == 3
    assert messages(err)[0] == f"error: {moved_on}/sub-03@v1: no such file in snapshot v1"
