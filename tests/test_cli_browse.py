"""The browse commands, for people and with --json, and their errors and exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import obstore
import pytest

from brainbucket import open_store
from brainbucket.cli import run
from brainbucket.store import S3Store


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def study(bucket: str) -> str:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("dataset_description.json", b'{"Name": "x"}')
    store.write_bytes("sub-01/anat/sub-01_T1w.nii.gz", b"t1" * 100)
    store.write_bytes("sub-01/anat/sub-01_aparc+aseg.nii.gz", b"seg" * 10)
    store.write_bytes("sub-02/dwi/sub-02_dwi.nii.gz", b"dwi" * 50)
    store.write_bytes("sub-02/dwi/with space ü.json", b"{}")
    return bucket


def test_ls_one_level(capsys: pytest.CaptureFixture[str], study: str) -> None:
    code, out, _ = cli(capsys, "ls", f"s3://{study}")
    assert code == 0
    lines = out.splitlines()
    assert any(line.endswith("PRE  sub-01/") for line in lines)
    assert any(line.endswith("dataset_description.json") for line in lines)
    assert len(lines) == 3


def test_ls_recursive_json_lines(capsys: pytest.CaptureFixture[str], study: str) -> None:
    code, out, _ = cli(capsys, "ls", "-r", "--json", f"s3://{study}/sub-02")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    # Paths are relative to the URL listed, as for any store root.
    assert sorted(r["path"] for r in rows) == ["dwi/sub-02_dwi.nii.gz", "dwi/with space ü.json"]
    assert {r["size"] for r in rows} == {150, 2}


def test_ls_of_an_object_url_and_of_nothing(capsys: pytest.CaptureFixture[str], study: str) -> None:
    code, out, _ = cli(capsys, "ls", f"s3://{study}/sub-01/anat/sub-01_T1w.nii.gz")
    assert code == 0
    assert out.split()[-2:] == ["200", "sub-01_T1w.nii.gz"]
    code, out, err = cli(capsys, "ls", f"s3://{study}/no-such-prefix")
    assert code == 3
    assert "no such key" in err


def test_tree_and_du(capsys: pytest.CaptureFixture[str], study: str) -> None:
    code, out, _ = cli(capsys, "tree", f"s3://{study}", "--depth", "2")
    assert code == 0
    assert "sub-01/" in out
    assert "anat/" in out
    code, out, _ = cli(capsys, "du", "--json", f"s3://{study}")
    assert code == 0
    doc = json.loads(out)
    assert doc["total"] == {"path": "", "size": 13 + 200 + 30 + 150 + 2, "count": 5}
    assert {c["path"]: c["count"] for c in doc["children"]} == {
        "dataset_description.json": 1,
        "sub-01/": 2,
        "sub-02/": 2,
    }


def test_mb_creates_versioned_bucket_and_is_idempotent(
    capsys: pytest.CaptureFixture[str], s3_env: dict[str, str]
) -> None:
    name = f"mb-{os.getpid()}-test"
    code, out, _ = cli(capsys, "mb", f"s3://{name}", "--json")
    assert code == 0
    assert json.loads(out) == {"bucket": name, "created": True, "versioning": "Enabled"}
    code, out, _ = cli(capsys, "mb", f"s3://{name}")
    assert code == 0
    assert "already exists" in out
    code, out, _ = cli(capsys, "mb", f"s3://{name}-plain", "--no-versioning", "--json")
    assert json.loads(out)["versioning"] == "Disabled"


def test_cp_both_ways_and_cat(
    capsys: pytest.CaptureFixture[str], bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "sub-01_aparc+aseg.nii.gz"
    src.write_bytes(os.urandom(100_000))
    code, _, err = cli(capsys, "cp", str(src), f"s3://{bucket}/sub-01/anat/")
    assert code == 0, err
    assert (
        open_store(f"s3://{bucket}").read_bytes("sub-01/anat/sub-01_aparc+aseg.nii.gz")
        == src.read_bytes()
    )
    back = tmp_path / "back.nii.gz"
    code, out, _ = cli(
        capsys, "cp", "--json", f"s3://{bucket}/sub-01/anat/sub-01_aparc+aseg.nii.gz", str(back)
    )
    assert code == 0
    assert json.loads(out)["size"] == 100_000
    assert back.read_bytes() == src.read_bytes()
    # cat writes raw bytes; check through a subprocess to see the real stdout.
    env = dict(os.environ)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "brainbucket",
            "cat",
            f"s3://{bucket}/sub-01/anat/sub-01_aparc+aseg.nii.gz",
        ],
        capture_output=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout == src.read_bytes()


def test_cp_s3_to_s3(capsys: pytest.CaptureFixture[str], bucket: str) -> None:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("a/one.txt", b"copy me")
    code, _, _ = cli(capsys, "cp", f"s3://{bucket}/a/one.txt", f"s3://{bucket}/b/two.txt")
    assert code == 0
    assert store.read_bytes("b/two.txt") == b"copy me"


def test_rm_single_and_recursive(capsys: pytest.CaptureFixture[str], study: str) -> None:
    code, _, _ = cli(capsys, "rm", f"s3://{study}/dataset_description.json")
    assert code == 0
    code, _, err = cli(capsys, "rm", "-r", f"s3://{study}/sub-01")
    assert code == 2  # stdin is not a terminal: refuse without --yes
    assert "--yes" in err
    assert len(list(open_store(f"s3://{study}").walk("sub-01"))) == 2
    code, out, _ = cli(capsys, "rm", "-r", "--yes", "--json", f"s3://{study}/sub-01")
    assert code == 0
    assert json.loads(out)["count"] == 2
    assert [o.path for o in open_store(f"s3://{study}").walk()] == [
        "sub-02/dwi/sub-02_dwi.nii.gz",
        "sub-02/dwi/with space ü.json",
    ]


def test_local_folder_is_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "sub-01").mkdir()
    (tmp_path / "sub-01" / "x.txt").write_text("x")
    code, out, _ = cli(capsys, "ls", "-r", "--json", f"file://{tmp_path}")
    assert code == 0
    assert [json.loads(line)["path"] for line in out.splitlines()] == ["sub-01/x.txt"]


@pytest.mark.parametrize(
    ("args", "exit_code", "needle"),
    [
        (["ls", "s3://no-such-bucket-zz"], 3, "no such bucket"),
        (["cat", "s3://BUCKET/missing.txt"], 3, "no such key"),
        (["ls", "gs://x/y"], 2, "unsupported URL scheme"),
        (["mb", "s3://BUCKET/with-prefix"], 2, "bucket URL"),
        (["cp", "/definitely/not/here.txt", "s3://BUCKET/x"], 3, "no such file"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code(
    capsys: pytest.CaptureFixture[str], bucket: str, args: list[str], exit_code: int, needle: str
) -> None:
    args = [a.replace("BUCKET", bucket) for a in args]
    code, _, err = cli(capsys, *args)
    assert code == exit_code
    assert needle in err
    assert "Traceback" not in err
    assert err.startswith("error:")
    assert "hint:" in err


def test_cli_no_credentials_and_wrong_secret_exit_codes(
    capsys: pytest.CaptureFixture[str], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value-123")
    code, _, err = cli(capsys, "ls", f"s3://{bucket}")
    assert code == 5
    assert "rejected the credentials" in err
    assert "wrong-secret-value-123" not in err
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    code, _, err = cli(capsys, "ls", f"s3://{bucket}")
    assert code == 5
    assert "no AWS credentials" in err


def test_cli_unreachable_endpoint(
    capsys: pytest.CaptureFixture[str], s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from brainbucket.server import free_port

    monkeypatch.setenv("BRAINBUCKET_RETRIES", "0")
    code, _, err = cli(
        capsys, "ls", "s3://unreachable", "--endpoint-url", f"http://127.0.0.1:{free_port()}"
    )
    assert code == 6
    assert "cannot reach the endpoint" in err


def test_debug_shows_traceback(capsys: pytest.CaptureFixture[str], s3_env: dict[str, str]) -> None:
    code, _, err = cli(capsys, "--debug", "ls", "s3://no-such-bucket-zz")
    assert code == 3
    assert "Traceback" in err


@pytest.fixture(scope="module")
def big_bucket(s3_server) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """A bucket with more keys than three listing pages (S3 pages hold 1,000 keys)."""
    name = "paginated-listing"
    n = 10_050
    # The server's environment only while filling it: later tests set up their own.
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        store = open_store(f"s3://{name}")
        assert isinstance(store, S3Store)
        store.create_bucket(versioning=False)
        if len(list(store.walk())) == n:
            return name, n
        sem = asyncio.Semaphore(128)

        async def put(i: int) -> None:
            async with sem:
                key = f"sub-{i % 50:02d}/f{i:05d}.txt"
                await obstore.put_async(store.obs, key, b"x" * (i % 7))

        async def fill() -> None:
            await asyncio.gather(*(put(i) for i in range(n)))

        asyncio.run(fill())
    return name, n


def test_ls_recursive_and_du_beyond_10000_keys(
    capsys: pytest.CaptureFixture[str], big_bucket: tuple[str, int], s3_env: dict[str, str]
) -> None:
    name, n = big_bucket
    code, out, _ = cli(capsys, "ls", "-r", f"s3://{name}")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == n
    assert len({line.rsplit("  ", 1)[-1] for line in lines}) == n
    code, out, _ = cli(capsys, "du", "--json", f"s3://{name}")
    doc = json.loads(out)
    assert doc["total"]["count"] == n
    assert doc["total"]["size"] == sum(i % 7 for i in range(n))
    assert len(doc["children"]) == 50
    assert sum(c["count"] for c in doc["children"]) == n
