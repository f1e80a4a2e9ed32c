"""Folder markers (zero-byte ``dir/`` objects) and what `verify` can prove, on SeaweedFS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brainbucket import Mirror, open_store, read_manifest, sync, verify
from brainbucket.cli import run
from brainbucket.store import S3Store
from cli_text import messages

MiB = 1024 * 1024
INTEGRITY = 8


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    code = run(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, messages(err)


def _raw(url: str) -> S3Store:
    store = open_store(url)
    assert isinstance(store, S3Store)
    return store


def _files_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".brainbucket")
    }


# -- folder markers -----------------------------------------------------------------------------

FILES = {
    "README": b"made in a console",
    "CHANGES": b"",  # an empty file: zero bytes like a marker, yet a file
    "sub-01/anat/sub-01_T1w.nii.gz": os.urandom(3000),
    "sub-01/anat/sub-01_T1w.json": b"{}",
    "sub-01/func/events.tsv": b"",
}
MARKERS = ["sub-01/", "sub-01/anat/", "derivatives/", "sourcedata/raw/"]


@pytest.fixture
def console_study(bucket: str) -> str:
    """A study under a prefix written as a console does: folder markers, then files."""
    store = _raw(f"s3://{bucket}")
    for key in ["study/", *(f"study/{m}" for m in MARKERS)]:
        store.client.put_object(Bucket=bucket, Key=key, Body=b"")
    for path, data in FILES.items():
        store.client.put_object(Bucket=bucket, Key=f"study/{path}", Body=data)
    return f"s3://{bucket}/study"


def test_markers_are_folders_in_listings(
    console_study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(capsys, "ls", console_study, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["type"], r["path"]) for r in rows] == [
        ("object", "CHANGES"),
        ("object", "README"),
        ("folder", "derivatives/"),
        ("folder", "sourcedata/"),
        ("folder", "sub-01/"),
    ]
    code, out, err = _cli(capsys, "ls", "-r", "--json", console_study)
    assert code == 0, err
    assert sorted(json.loads(line)["path"] for line in out.splitlines()) == sorted(FILES)
    code, out, err = _cli(capsys, "ls", f"{console_study}/derivatives")
    assert (code, out) == (0, ""), err  # an empty folder, not a missing one
    code, out, err = _cli(capsys, "ls", f"{console_study}/sub-01", "--json")
    assert code == 0, err
    assert [json.loads(line)["path"] for line in out.splitlines()] == ["anat/", "func/"]
    code, out, err = _cli(capsys, "du", "--json", console_study)
    assert code == 0, err
    assert json.loads(out)["total"]["count"] == len(FILES)
    code, out, err = _cli(capsys, "tree", console_study, "--depth", "3")
    assert code == 0, err
    assert out.count("derivatives/") == 1
    assert out.count("anat/") == 1


def test_markers_sync_down_as_folders(
    console_study: str, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    code, out, err = _cli(capsys, "sync", console_study, str(copy), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["transferred"], doc["failed"]) == (len(FILES), [])
    assert _files_of(copy) == FILES
    for marker in MARKERS:
        assert (copy / marker).is_dir(), marker
    code, out, err = _cli(capsys, "status", console_study, str(copy), "--json")
    assert code == 0, err
    assert json.loads(out)["actions"] == []
    code, out, err = _cli(capsys, "sync", console_study, str(copy), "--json")
    assert (code, json.loads(out)["transferred"]) == (0, 0), err

    # Up again elsewhere: the manifest lists the files, never a folder.
    again = f"s3://{bucket}/again"
    sync(copy, again)
    m = read_manifest(open_store(again))
    assert m is not None
    assert sorted(m) == sorted(FILES)


def test_markers_in_the_mirror(console_study: str, tmp_path: Path) -> None:
    mirror = Mirror(console_study, cache_dir=tmp_path / "cache")
    assert sorted(mirror.study.index.by_path) == sorted(FILES)
    key = "sub-01/anat/sub-01_T1w.nii.gz"
    assert mirror.path(key).read_bytes() == FILES[key]


# -- verify: what ETags can prove, and --deep ----------------------------------------------------


def _multipart_put(store: S3Store, path: str, data: bytes) -> str:
    """Put ``data`` in 5 MiB parts, as another tool would; the ETag (``md5-N``)."""
    c, key = store.client, store.key(path)
    up = c.create_multipart_upload(Bucket=store.bucket, Key=key)
    parts = []
    for n, start in enumerate(range(0, len(data), 5 * MiB), 1):
        r = c.upload_part(
            Bucket=store.bucket,
            Key=key,
            UploadId=up["UploadId"],
            PartNumber=n,
            Body=data[start : start + 5 * MiB],
        )
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    done = c.complete_multipart_upload(
        Bucket=store.bucket, Key=key, UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )
    return str(done["ETag"]).strip('"')


BIG = "sub-01/dwi/sub-01_dwi.nii.gz"


def test_verify_cannot_prove_by_etag_then_deep_does(
    unversioned_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same bytes put again in parts: the ETag changes form, so it proves nothing either
    way; `verify` says so (exit 0, never "mismatched") and `verify --deep` settles it."""
    url = f"s3://{unversioned_bucket}/mp"
    data = os.urandom(5 * MiB + 1000)
    src = tmp_path / "src"
    (src / "sub-01/dwi").mkdir(parents=True)
    (src / BIG).write_bytes(data)
    (src / "README").write_bytes(b"r")
    sync(src, url)
    assert "-" in _multipart_put(_raw(url), BIG, data)

    code, out, err = _cli(capsys, "verify", url)
    assert code == 0, out + "\n".join(err)
    assert f"unverifiable {BIG}  unverifiable by ETag: the server gives a multipart ETag" in out
    assert out.splitlines()[-1] == (
        "ok: 2 files checked, 0 missing, 0 mismatched, 0 untracked, 1 unverifiable by ETag"
    )
    assert err[0] == (
        "hint: the server's ETags cannot prove 1 file(s) intact; "
        f"`brainbucket verify --deep {url}` downloads and hashes them against the manifest"
    )
    code, out, err = _cli(capsys, "verify", url, "--deep")  # what the hint says to run
    assert code == 0, out
    assert out.splitlines()[-1] == "ok: 2 files checked, 0 missing, 0 mismatched, 0 untracked"
    assert err == []

    # Other bytes of the same size, in parts: still unprovable by ETag; --deep finds them.
    _multipart_put(_raw(url), BIG, os.urandom(len(data)))
    report = verify(url)
    assert report.ok
    assert [p for p, _ in report.unverifiable] == [BIG]
    code, out, err = _cli(capsys, "verify", url, "--deep")
    assert code == INTEGRITY
    assert f"mismatched  {BIG}  sha256 differs from the manifest" in out
    assert err[0] == f"error: {url}: 1 file(s) differ from the manifest"


def test_verify_compares_etags_of_one_form(
    unversioned_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{unversioned_bucket}/plain"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"aaaa")
    sync(src, url)
    store = _raw(url)
    store.client.put_object(Bucket=store.bucket, Key=store.key("a.txt"), Body=b"bbbb")
    code, out, err = _cli(capsys, "verify", url)
    assert code == INTEGRITY
    assert "mismatched  a.txt  changed on the server (ETag differs from the manifest)" in out
    assert err[0] == f"error: {url}: 1 file(s) differ from the manifest"


def test_verify_a_newer_object_over_the_manifests_version(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the server keeps versions, readers get the version the manifest names: a newer
    object put over it (a lost race, a stray upload) damages nothing; `--deep` reads the
    manifest's version, streamed."""
    url = f"s3://{bucket}/pinned"
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"aaaa")
    sync(src, url)
    store = _raw(url)
    store.client.put_object(Bucket=store.bucket, Key=store.key("a.txt"), Body=b"bbbbbb")
    code, out, err = _cli(capsys, "verify", url)
    assert code == 0, out
    code, out, err = _cli(capsys, "verify", url, "--deep")
    assert (code, err) == (0, []), out
    assert out.splitlines()[-1] == "ok: 1 files checked, 0 missing, 0 mismatched, 0 untracked"
    copy = tmp_path / "copy"
    sync(url, copy)
    assert (copy / "a.txt").read_bytes() == b"aaaa"
