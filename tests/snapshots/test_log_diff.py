"""``log`` and ``diff`` against a hand-built expectation, on a real versioned bucket."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brainbucket import open_store
from brainbucket.cli import run
from brainbucket.manifest import Entry, Manifest, read_manifest, write_manifest
from brainbucket.snapshots._diff import diff_manifests
from cli_text import messages

from ._study import write_tree


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def two_tags(study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The study tagged v1.0.0, then changed (one file overwritten, one deleted, one added)
    and tagged v1.1.0."""
    assert cli(capsys, "tag", study, "v1.0.0")[0] == 0
    src = tmp_path / "src"
    (src / "sub-01/anat/sub-01_T1w.nii.gz").write_bytes(os.urandom(5001))
    (src / "sub-02/anat/sub-02_T1w.json").unlink()
    write_tree(src, {"sub-03/anat/sub-03_T1w.nii.gz": os.urandom(700)})
    code, _, err = cli(capsys, "sync", str(src), study, "--delete", "--quiet")
    assert code == 0, err
    assert cli(capsys, "tag", study, "v1.1.0")[0] == 0
    return study


EXPECTED = [
    "M\tsub-01/anat/sub-01_T1w.nii.gz",
    "D\tsub-02/anat/sub-02_T1w.json",
    "A\tsub-03/anat/sub-03_T1w.nii.gz",
]


def test_diff_of_two_snapshots_lists_what_changed(
    two_tags: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "diff", f"{two_tags}@v1.0.0", f"{two_tags}@v1.1.0")
    assert code == 0, err
    assert out.splitlines() == EXPECTED
    # Against the current state (the default B), the same.
    assert cli(capsys, "diff", f"{two_tags}@v1.0.0")[1].splitlines() == EXPECTED
    # --exit-code: 1 when they differ, 0 and nothing printed when they do not.
    assert cli(capsys, "diff", f"{two_tags}@v1.0.0", "--exit-code")[0] == 1
    code, out, _ = cli(capsys, "diff", f"{two_tags}@v1.1.0", two_tags, "--exit-code")
    assert (code, out) == (0, "")


def test_diff_by_subject_and_as_json(two_tags: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        capsys, "diff", f"{two_tags}@v1.0.0", f"{two_tags}@v1.1.0", "--by", "subject", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["by_subject"] == {
        "sub-01": {"added": 0, "changed": 1, "removed": 0},
        "sub-02": {"added": 0, "changed": 0, "removed": 1},
        "sub-03": {"added": 1, "changed": 0, "removed": 0},
    }
    assert [c["path"] for c in doc["changed"]] == ["sub-01/anat/sub-01_T1w.nii.gz"]
    assert doc["changed"][0]["old"]["size"] == 5000
    assert doc["changed"][0]["new"]["size"] == 5001
    assert doc["bytes_added"] == 5001 + 700
    assert doc["bytes_removed"] == 5000 + 2


def test_diff_reads_only_the_shards_that_differ(two_tags: str) -> None:
    a = read_manifest(open_store(f"{two_tags}@v1.0.0"), cache=False)
    b = read_manifest(open_store(f"{two_tags}@v1.1.0"), cache=False)
    assert a is not None
    assert b is not None
    d = diff_manifests(a, b)
    # participants.tsv's shard is equal on both sides: skipped unread.
    assert (d.shards_read, d.shards_skipped) == (3, 1)
    assert a._shards.keys() == {"sub-01/", "sub-02/"}
    assert b._shards.keys() == {"sub-01/", "sub-02/", "sub-03/"}


def test_diff_against_a_local_folder(
    two_tags: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    code, out, err = cli(capsys, "diff", f"{two_tags}@v1.1.0", str(src), "--exit-code")
    assert (code, out) == (0, ""), err
    (src / "participants.tsv").write_bytes(b"participant_id\nsub-01\nsub-03\n")  # same size
    code, out, _ = cli(capsys, "diff", f"{two_tags}@v1.0.0", str(src))
    assert out.splitlines() == ["M\tparticipants.tsv", *EXPECTED]


def test_log_walks_the_history_with_tags_marked(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_AUTHOR", "ana")
    from ._study import synced

    study = synced(bucket, tmp_path, capsys)
    assert cli(capsys, "tag", study, "v1.0.0")[0] == 0
    src = tmp_path / "src"
    (src / "sub-02/anat/sub-02_T1w.json").unlink()
    write_tree(src, {"sub-03/anat/sub-03_T1w.nii.gz": b"x" * 700})
    assert cli(capsys, "sync", str(src), study, "--delete", "--quiet")[0] == 0
    code, out, err = cli(capsys, "log", study, "--json")
    assert code == 0, err
    log = json.loads(out)
    first = read_manifest(open_store(f"{study}@v1.0.0")).root  # type: ignore[union-attr]
    assert [(e["added"], e["changed"], e["removed"], e["tags"], e["author"]) for e in log] == [
        (1, 0, 1, [], "ana"),
        (4, 0, 0, ["v1.0.0"], "ana"),
    ]
    assert (log[0]["parent"], log[1]["root"], log[1]["parent"]) == (first, first, None)
    assert (log[0]["bytes_added"], log[0]["bytes_removed"], log[0]["files"]) == (700, 2, 4)
    assert [e["root"] for e in json.loads(cli(capsys, "log", study, "-n", "1", "--json")[1])] == [
        log[0]["root"]
    ]
    # A snapshot's log starts at the snapshot.
    assert len(json.loads(cli(capsys, "log", f"{study}@v1.0.0", "--json")[1])) == 1


def test_log_stops_at_a_version_written_before_parents_were_recorded(
    bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(f"s3://{bucket}/old")
    m = Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)])
    write_manifest(store, m, history=False)  # as an older brainbucket wrote it
    old_root = m.root
    m.add(Entry("b.txt", 1, "sha256:" + "1" * 64))
    write_manifest(store, m)
    code, out, err = cli(capsys, "log", f"s3://{bucket}/old")
    assert code == 0, err
    assert messages(err) == [
        f"note: history before {old_root[:19]} is not recorded (that version was written by "
        "an older brainbucket)"
    ]
    lines = out.splitlines()
    assert len(lines) == 2
    # Not known: empty in a pipe ("?" at a terminal).
    assert lines[1].split("\t")[3:6] == ["", "", ""]


def test_diff_refuses_what_it_cannot_compare(
    study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "diff", study, study, "--by", "session")
    assert code == 2
    assert messages(err)[0] == "error: --by session: unknown grouping"
    code, _, err = cli(capsys, "diff", study, str(tmp_path / "nowhere"))
    assert code == 2
    assert messages(err)[0] == f"error: {tmp_path / 'nowhere'}: no such folder"
