"""A missing bucket, met through every command that can meet one: the bucket is named (never
an internal key such as ``.brainbucket/HEAD``), and the hint fits what the command does —
check the name when reading, create the bucket when writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import BucketNotFoundError, open_store
from brainbucket.cli import run

BUCKET = "no-such-study-q"
FIRST = f"error: s3://{BUCKET}: no such bucket"
READ = "hint: check the bucket name; `brainbucket ls s3://` lists yours"
WRITE = f"hint: create it with `brainbucket mb s3://{BUCKET}`"

B = f"s3://{BUCKET}"
COMMANDS = [
    (["ls", B], READ),
    (["ls", "-r", f"{B}/sub-01"], READ),
    (["du", B], READ),
    (["cat", f"{B}/sub-01/x.json"], READ),
    (["cp", f"{B}/sub-01/x.json", "down/"], READ),
    (["cp", "up/a.txt", f"{B}/a.txt"], WRITE),
    (["get", B, "sub-01/x.json", "--cache-dir", "cache"], READ),
    (["get", B, "--subject", "01", "--cache-dir", "cache"], READ),
    (["sync", B, "down"], READ),
    (["sync", "up", B], WRITE),
    (["sync", "up", f"{B}/derivatives"], WRITE),
    (["status", B, "down"], READ),
    (["status", "up", B], WRITE),
    (["verify", B], READ),
    (["study", B], READ),
    (["hcp", "ls", "--bucket", BUCKET], READ),
    (["hcp", "fetch", "100206", "--bucket", BUCKET, "--to", "hcp", "--yes"], READ),
    (["assembly", "list", "--store", f"{B}/assemblies"], READ),
    (["assembly", "load", "lab.x", "--store", f"{B}/assemblies"], READ),
    (["assembly", "upload", "up/a.txt", "lab.x", "--store", f"{B}/assemblies"], WRITE),
    (["rm", f"{B}/a.txt"], READ),
    (["share", f"{B}/a.txt"], READ),
]


@pytest.mark.parametrize(("args", "hint"), COMMANDS, ids=lambda a: " ".join(a)[:40])
def test_every_command_names_the_bucket_with_a_fitting_hint(
    s3_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    hint: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "a.txt").write_text("a")
    code = run(args)
    err = capsys.readouterr().err
    assert code == 3
    assert err.splitlines()[:2] == [FIRST, hint]
    assert ".brainbucket" not in err


def test_the_library_names_the_bucket_too(s3_env: dict[str, str], tmp_path: Path) -> None:
    store = open_store(f"{B}/derivatives")
    with pytest.raises(BucketNotFoundError) as err:
        store.read_bytes("sub-01/x.json")
    assert str(err.value) == f"{B}: no such bucket"
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(BucketNotFoundError) as err:
        store.upload(tmp_path / "a.txt", "a.txt")
    assert err.value.hint == WRITE.removeprefix("hint: ")
