"""``s3://study@tag`` and ``s3://study@sha256:…``: the tagged bytes, after overwrites and deletes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from brainbucket import InvalidURLError, open_store, parse_url, read_manifest
from brainbucket.cli import run
from cli_text import messages

from ._study import write_tree


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".brainbucket/")
    }


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("s3://study@v1.0.0", ("study", "", "v1.0.0")),
        ("s3://lab/study@v1.0.0", ("lab", "study", "v1.0.0")),
        ("s3://lab/study@v1.0.0/", ("lab", "study", "v1.0.0")),
        ("s3://lab/study@sha256:3f5c", ("lab", "study", "sha256:3f5c")),
        ("s3://lab/a@b/study", ("lab", "a@b/study", "")),  # not in the last part: a key
        ("s3://lab/study/x%40y", ("lab", "study/x@y", "")),  # a literal @ in the last part
    ],
)
def test_the_url_grammar(url: str, parsed: tuple[str, str, str]) -> None:
    u = parse_url(url)
    assert (u.bucket, u.prefix, u.ref) == parsed


@pytest.mark.parametrize(
    ("url", "first"),
    [
        (
            "s3://study@v1 2",
            "error: s3://study@v1 2: invalid snapshot 'v1 2': holds ' ': only letters, digits, "
            "'.', '_', '+' and '-' are allowed",
        ),
        (
            "s3://study@sha256:XYZ",
            "error: s3://study@sha256:XYZ: invalid snapshot 'sha256:XYZ': a manifest digest is "
            "sha256: and 4 to 64 lowercase hex digits",
        ),
        ("s3://study@", "error: s3://study@: invalid snapshot '': is empty"),
    ],
)
def test_an_invalid_snapshot_is_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], url: str, first: str
) -> None:
    with pytest.raises(InvalidURLError):
        parse_url(url)
    code, _, err = cli(capsys, "sync", url, "out")
    assert code == 2
    assert messages(err)[0] == first


def test_a_tag_restores_its_exact_bytes_after_overwrites_and_deletes(
    study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    tagged = digests(src)
    assert cli(capsys, "tag", study, "v1.0.0")[0] == 0
    # The study moves on: a file overwritten, one deleted, one added.
    (src / "sub-01/anat/sub-01_T1w.nii.gz").write_bytes(os.urandom(5000))
    (src / "sub-02/anat/sub-02_T1w.json").unlink()
    write_tree(src, {"sub-03/anat/sub-03_T1w.nii.gz": os.urandom(700)})
    code, _, err = cli(capsys, "sync", str(src), study, "--delete", "--quiet")
    assert code == 0, err
    assert cli(capsys, "tag", study, "v1.1.0")[0] == 0

    out = tmp_path / "restored"
    code, _, err = cli(capsys, "sync", f"{study}@v1.0.0", str(out), "--quiet")
    assert code == 0, err
    assert digests(out) == tagged
    # The citable digest reads the same version, a short prefix too.
    root = read_manifest(open_store(f"{study}@v1.0.0")).root  # type: ignore[union-attr]
    out2 = tmp_path / "by-digest"
    code, _, err = cli(capsys, "sync", f"{study}@{root[:15]}", str(out2), "--quiet")
    assert code == 0, err
    assert digests(out2) == tagged
    # And the later tag, the current state.
    out3 = tmp_path / "later"
    assert cli(capsys, "sync", f"{study}@v1.1.0", str(out3), "--quiet")[0] == 0
    assert digests(out3) == digests(src)
    # verify checks the snapshot's objects, each at the version its entry names.
    code, out_text, err = cli(capsys, "verify", f"{study}@v1.0.0")
    assert code == 0, out_text + err


def test_a_snapshot_is_read_only(
    study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "tag", study, "v1")[0] == 0
    write_tree(tmp_path / "src", {"sub-04/x.txt": b"new"})
    code, _, err = cli(capsys, "sync", str(tmp_path / "src"), f"{study}@v1")
    assert code == 2
    assert messages(err)[0] == f"error: {study}@v1 is a snapshot, and snapshots are read-only"
    assert "sub-04/x.txt" not in read_manifest(open_store(study))  # type: ignore[operator]


def test_a_missing_tag_names_the_tags_there_are(
    study: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("v1", "v2"):
        assert cli(capsys, "tag", study, name)[0] == 0
    code, _, err = cli(capsys, "sync", f"{study}@v3", str(tmp_path / "out"))
    assert code == 3
    assert messages(err)[0] == f"error: {study}@v3: no tag 'v3' (tags: v1, v2)"
    code, _, err = cli(capsys, "sync", f"{study}@sha256:0000", str(tmp_path / "out"))
    assert code == 3
    assert messages(err)[0] == f"error: {study}@sha256:0000: no manifest with digest sha256:0000"


@pytest.mark.parametrize("command", ["tags"])
def test_commands_that_read_live_objects_refuse_a_snapshot(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, _, err = cli(capsys, command, "s3://study@v1")
    assert code == 2
    assert messages(err)[0] == "error: s3://study@v1: this command does not read snapshots yet"
