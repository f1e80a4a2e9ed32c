"""`cp` to standard output and from standard input, as in a shell pipeline (`-`, as aws-cli):
verified like every other copy, in a real process with real pipes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brainbucket import open_store
from brainbucket.manifest import Entry, Manifest, write_manifest
from cli_text import messages

SRC = str(Path(__file__).resolve().parents[1] / "src")
KEY = "sub-01/anat/sub-01_T1w.nii.gz"


def brainbucket(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "brainbucket", *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=120,
        check=False,
    )


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_cp_to_stdout_writes_the_object_and_nothing_else(bucket: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    open_store(f"s3://{bucket}").write_bytes(KEY, data)
    proc = brainbucket("cp", f"s3://{bucket}/{KEY}", "-")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == data
    assert messages(proc.stderr) == []


def test_cp_from_stdin_uploads_what_was_read(bucket: str) -> None:
    data = os.urandom(2 * 1024 * 1024)
    url = f"s3://{bucket}/from-stdin/scan.nii.gz"
    proc = brainbucket("cp", "-", url, stdin=data)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines()[0] == f"- → {url} (2.0 MiB, verified)"
    assert open_store(f"s3://{bucket}").read_bytes("from-stdin/scan.nii.gz") == data
    proc = brainbucket("cp", "-", url, "--json", stdin=b"")
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert (doc["size"], doc["sha256"]) == (0, _sha256(b""))
    assert open_store(f"s3://{bucket}").read_bytes("from-stdin/scan.nii.gz") == b""


def test_a_pipe_through_two_copies(bucket: str) -> None:
    data = os.urandom(100_000)
    open_store(f"s3://{bucket}").write_bytes("a.bin", data)
    down = brainbucket("cp", f"s3://{bucket}/a.bin", "-")
    assert down.returncode == 0
    up = brainbucket("cp", "-", f"s3://{bucket}/b.bin", stdin=down.stdout)
    assert up.returncode == 0, up.stderr.decode()
    assert open_store(f"s3://{bucket}").read_bytes("b.bin") == data


@pytest.fixture
def misrecorded(bucket: str) -> tuple[str, bytes]:
    """An object whose dataset manifest records another sha256 for the very same object (same
    size and ETag): what a copy would meet if the bytes had changed under their ETag."""
    url = f"s3://{bucket}/study"
    store = open_store(url)
    data = os.urandom(50_000)
    put = store.write_bytes(KEY, data)
    wrong = _sha256(data[::-1])
    write_manifest(store, Manifest([Entry(KEY, len(data), wrong, put.version_id, put.etag)]))
    return f"{url}/{KEY}", data


def test_cp_to_stdout_that_fails_its_check_exits_8_and_says_the_bytes_are_out(
    misrecorded: tuple[str, bytes],
) -> None:
    url, data = misrecorded
    proc = brainbucket("cp", url, "-")
    assert proc.returncode == 8
    assert proc.stdout == data  # already written: the error says so
    first = proc.stderr.decode().splitlines()[0]
    assert first.startswith(f"error: {url}: sha256 ")
    assert first.endswith("; the bytes already written cannot be taken back")


def test_cp_to_a_file_checks_the_manifest_digest_too(
    misrecorded: tuple[str, bytes], tmp_path: Path
) -> None:
    url, _ = misrecorded
    proc = brainbucket("cp", url, str(tmp_path / "t1.nii.gz"))
    assert proc.returncode == 8
    assert proc.stderr.decode().startswith(f"error: {url}: sha256 ")
    assert list(tmp_path.iterdir()) == []  # nothing unverified under any name


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["cp", "-", "-"], "copies nothing"),
        (["cp", "s3://BUCKET/a.bin", "-", "--json"], "--json cannot share standard output"),
        (["cp", "-", "s3://BUCKET/folder/"], "standard input has no name"),
    ],
)
def test_cp_stdio_usage_errors(bucket: str, args: list[str], needle: str) -> None:
    proc = brainbucket(*[a.replace("BUCKET", bucket) for a in args])
    assert proc.returncode == 2
    assert proc.stdout == b""
    first = proc.stderr.decode().splitlines()[0]
    assert first.startswith("error: ")
    assert needle in first
