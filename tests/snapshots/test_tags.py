"""tag and tags against a real server: create, list, refuse to move, delete with a record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainbucket import ConflictError, UsageError, open_store, read_manifest
from brainbucket.cli import run
from brainbucket.snapshots import create_tag, list_tags, tag_name_problem
from cli_text import messages

from ._study import FILES, synced


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_tag_names_the_current_manifest_and_tags_lists_it(
    study: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_AUTHOR", "Ada Lovelace")
    root = read_manifest(open_store(study)).root  # type: ignore[union-attr]
    code, out, err = cli(capsys, "tag", study, "v1.0.0", "-m", "data of the 2027 paper")
    assert code == 0, err
    assert out == f"tagged {study}@v1.0.0: {root} (4 files, 10.8 KiB)\n"
    assert messages(err) == []  # a versioned bucket: no warning
    code, out, _ = cli(capsys, "tags", study, "--json")
    assert code == 0
    (tag,) = json.loads(out)
    assert tag["name"] == "v1.0.0"
    assert tag["root"] == root
    assert tag["author"] == "Ada Lovelace"
    assert tag["message"] == "data of the 2027 paper"
    assert tag["files"] == len(FILES)
    assert tag["bytes"] == sum(len(b) for b in FILES.values())
    code, out, _ = cli(capsys, "tags", study)
    assert out.split("\t")[0] == "v1.0.0"
    assert root in out


def test_a_tag_never_moves(study: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "tag", study, "v1")[0] == 0
    root = read_manifest(open_store(study)).root  # type: ignore[union-attr]
    code, _, err = cli(capsys, "tag", study, "v1", "-m", "again")
    assert code == 7
    first = messages(err)[0]
    assert first.startswith(f"error: {study}: tag 'v1' exists already, naming {root[:19]}… since ")
    assert first.endswith("; tags never move")
    (tag,) = list_tags(open_store(study))
    assert tag.message == ""  # the first one, untouched


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("paper 2027", "holds ' ': only letters, digits, '.', '_', '+' and '-' are allowed"),
        ("v1/rc", "holds '/': only letters, digits, '.', '_', '+' and '-' are allowed"),
        ("sha256:ab", "holds ':': only letters, digits, '.', '_', '+' and '-' are allowed"),
        ("-v1", "must begin with a letter or digit"),
        ("v1..2", "two dots in a row are not allowed"),
        ("v1.lock", "must not end in '.' or '.lock'"),
        ("", "is empty"),
    ],
)
def test_an_invalid_tag_name_is_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    assert tag_name_problem(name) == problem
    # No bucket exists and no server is named: a request would fail otherwise than exit 2.
    code, _, err = cli(capsys, "tag", "s3://no-such-bucket/study", "--", name)
    assert code == 2
    assert messages(err)[0] == f"error: invalid tag name {name!r}: {problem}"


def test_deleting_a_tag_needs_force_and_is_recorded(
    study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "tag", study, "v1")[0] == 0
    code, _, err = cli(capsys, "tag", study, "v1", "--delete")
    assert code == 2
    assert (
        messages(err)[0] == f"error: {study}: deleting tag 'v1' needs --force (papers may cite it)"
    )
    assert [t.name for t in list_tags(open_store(study))] == ["v1"]
    code, out, err = cli(capsys, "tag", study, "v1", "--delete", "--force", "-m", "wrong subjects")
    assert code == 0, err
    assert out.startswith("deleted tag v1 (named sha256:")
    assert list_tags(open_store(study)) == []
    code, out, _ = cli(capsys, "tags", study, "--deleted", "--json")
    (record,) = json.loads(out)
    assert record["name"] == "v1"
    assert record["deleted_reason"] == "wrong subjects"
    assert record["deleted_date"] >= record["date"]


def test_a_missing_tag_is_named_with_the_tags_there_are(
    study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("v1", "v2"):
        assert cli(capsys, "tag", study, name)[0] == 0
    code, _, err = cli(capsys, "tag", study, "v3", "--delete", "--force")
    assert code == 3
    assert messages(err)[0] == f"error: {study}: no tag 'v3' (tags: v1, v2)"


def test_a_study_without_a_manifest_has_nothing_to_tag(
    bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "tag", f"s3://{bucket}/empty", "v1")
    assert code == 3
    assert messages(err)[0] == (
        f"error: s3://{bucket}/empty: nothing to tag, the study has no manifest yet"
    )


def test_without_versioning_tag_warns_that_overwrites_break_it(
    unversioned_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = synced(unversioned_bucket, tmp_path, capsys)
    code, _, err = cli(capsys, "tag", study, "v1")
    assert code == 0
    assert messages(err) == [
        "warning: this store keeps no object versions: overwriting or deleting a tagged file "
        "will break v1; enable versioning to keep it readable"
    ]


def test_library_errors_are_the_documented_classes(study: str) -> None:
    store = open_store(study)
    create_tag(store, "v1")
    with pytest.raises(ConflictError):
        create_tag(store, "v1")
    with pytest.raises(UsageError):
        create_tag(store, "bad name")
