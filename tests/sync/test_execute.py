"""The executor on the real server: verified downloads, uploads, resumes, deletes, callbacks."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from brainbucket import BucketNotFoundError, IntegrityError, PartialFailureError, open_store
from brainbucket._hashing import sha256_bytes
from brainbucket.store import S3Store, Store
from brainbucket.store._resume import _state_file
from brainbucket.sync import Callbacks, Delete, DeleteLocal, Download, Upload, execute

MiB = 1024 * 1024


class Recorder(Callbacks):
    def __init__(self) -> None:
        self.queued: list[str] = []
        self.done: list[tuple[str, bool]] = []
        self.bytes = 0

    def on_queued(self, action):  # type: ignore[no-untyped-def]
        self.queued.append(action.path)

    def on_progress(self, action, nbytes):  # type: ignore[no-untyped-def]
        self.bytes += nbytes

    def on_done(self, action, error):  # type: ignore[no-untyped-def]
        self.done.append((action.path, error is None))


def test_download_verifies_sha256(store: Store, tmp_path: Path, state_dir: Path) -> None:
    data = os.urandom(3000)
    store.write_bytes("sub-01/a.bin", data)
    good = Download("sub-01/a.bin", tmp_path / "good.bin", len(data), sha256_bytes(data))
    bad = Download("sub-01/a.bin", tmp_path / "bad.bin", len(data), sha256_bytes(b"other"))
    rec = Recorder()
    result = execute([good, bad], store, serial=True, callbacks=rec)
    assert (tmp_path / "good.bin").read_bytes() == data
    assert not (tmp_path / "bad.bin").exists()
    assert [p.name for p in tmp_path.iterdir() if ".bbpart" in p.name] == []
    assert [a.path for a, _ in result.failed] == ["sub-01/a.bin"]
    assert isinstance(result.failed[0][1], IntegrityError)
    assert rec.queued == ["sub-01/a.bin", "sub-01/a.bin"]
    assert rec.done == [("sub-01/a.bin", True), ("sub-01/a.bin", False)]
    assert rec.bytes == 2 * len(data)
    with pytest.raises(PartialFailureError) as info:
        result.raise_for_failures()
    assert info.value.failures[0][0] == "sub-01/a.bin"


def test_download_checks_plain_md5_etag(s3_store: S3Store, tmp_path: Path, state_dir: Path) -> None:
    data = b"x" * 5000
    put = s3_store.write_bytes("a.bin", data)
    assert put.etag == hashlib.md5(data).hexdigest()
    ok = execute([Download("a.bin", tmp_path / "a", len(data), etag=put.etag)], s3_store)
    assert not ok.failed
    # Same size, different bytes on the server: the MD5 of what arrives no longer matches.
    s3_store.write_bytes("a.bin", b"y" * 5000)
    bad = execute([Download("a.bin", tmp_path / "b", len(data), etag=put.etag)], s3_store)
    assert isinstance(bad.failed[0][1], IntegrityError)
    assert "MD5" in str(bad.failed[0][1])
    assert not (tmp_path / "b").exists()


def test_download_by_version(s3_store: S3Store, tmp_path: Path, state_dir: Path) -> None:
    first = s3_store.write_bytes("v.txt", b"one")
    s3_store.write_bytes("v.txt", b"two")
    a = Download("v.txt", tmp_path / "v.txt", 3, first.sha256, version_id=first.version_id)
    assert not execute([a], s3_store).failed
    assert (tmp_path / "v.txt").read_bytes() == b"one"


def test_uploads_and_deletes(store: Store, tmp_path: Path, state_dir: Path) -> None:
    files = {f"sub-{i:02d}/f.txt": os.urandom(100 + i) for i in range(20)}
    for name, data in files.items():
        p = tmp_path / "src" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    ups = [Upload(tmp_path / "src" / n, n, len(d)) for n, d in files.items()]
    result = execute(ups, store, jobs=8)
    assert not result.failed
    assert {r.path: r.sha256 for _, r in result.done} == {
        n: sha256_bytes(d) for n, d in files.items()
    }  # type: ignore[union-attr]
    assert result.bytes == sum(map(len, files.values()))
    for name, data in files.items():
        assert store.read_bytes(name) == data
    gone = [Delete(n) for n in list(files)[:15]]
    assert not execute(gone, store).failed
    assert sorted(o.path for o in store.walk()) == sorted(list(files)[15:])


def test_delete_local(tmp_path: Path, local_store: Store, state_dir: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_text("x")
    result = execute(
        [DeleteLocal("x.txt", p), DeleteLocal("y.txt", tmp_path / "y.txt")], local_store
    )
    assert not result.failed
    assert not p.exists()


def test_unreadable_upload_is_reported_rest_goes_on(
    store: Store, tmp_path: Path, state_dir: Path
) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_text("fine")
    missing = tmp_path / "missing.txt"
    result = execute(
        [Upload(missing, "missing.txt", 1), Upload(ok, "ok.txt", 4)], store, serial=True
    )
    assert [a.path for a, _ in result.failed] == ["missing.txt"]
    assert store.read_bytes("ok.txt") == b"fine"


def test_missing_bucket_is_fatal(s3_env: dict[str, str], tmp_path: Path, state_dir: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_text("a")
    store = open_store("s3://no-such-bucket-here")
    with pytest.raises(BucketNotFoundError):
        execute([Upload(src, "a.txt", 1)] * 3, store)


def test_multipart_upload_and_range_resume(
    s3_store: S3Store, tmp_path: Path, state_dir: Path
) -> None:
    data = os.urandom(12 * MiB + 123)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    up = execute(
        [Upload(src, "big.bin", len(data))],
        s3_store,
        multipart_threshold=5 * MiB,
        part_size=5 * MiB,
    )
    assert not up.failed
    put = up.done[0][1]
    assert put.sha256 == sha256_bytes(data)  # type: ignore[union-attr]
    assert put.etag.endswith("-3")  # type: ignore[union-attr]
    assert s3_store.read_bytes("big.bin") == data
    assert s3_store.multipart_uploads() == []
    assert not list((state_dir / "uploads").glob("*.json"))

    # A partial download left by an earlier run: continued by range, then verified whole.
    dest = tmp_path / "out" / "big.bin"
    dest.parent.mkdir()
    a = Download("big.bin", dest, len(data), sha256_bytes(data), etag=put.etag)  # type: ignore[union-attr]
    partial = dest.with_name(".big.bin.resume.bbpart")
    partial.write_bytes(data[: 7 * MiB])
    state = _state_file(state_dir, dest)
    state.parent.mkdir(parents=True)
    state.write_text(
        json.dumps({"size": a.size, "etag": a.etag, "version_id": None, "sha256": a.sha256})
    )
    rec = Recorder()
    down = execute([a], s3_store, multipart_threshold=5 * MiB, callbacks=rec)
    assert not down.failed
    assert dest.read_bytes() == data
    assert not partial.exists()
    assert not state.exists()

    # A partial holding wrong bytes is caught by the final check, and nothing is kept.
    dest.unlink()
    partial.write_bytes(b"\0" * (7 * MiB))
    state.write_text(
        json.dumps({"size": a.size, "etag": a.etag, "version_id": None, "sha256": a.sha256})
    )
    bad = execute([a], s3_store, multipart_threshold=5 * MiB)
    assert isinstance(bad.failed[0][1], IntegrityError)
    assert not dest.exists()
    assert not partial.exists()
    again = execute([a], s3_store, multipart_threshold=5 * MiB)
    assert not again.failed
    assert dest.read_bytes() == data
