"""sync, plan and verify end to end on the real server (and a folder as the destination)."""

from __future__ import annotations

import dataclasses
import filecmp
import os
from pathlib import Path

import pytest

from brainbucket import (
    BucketNotFoundError,
    ConflictError,
    ObjectNotFoundError,
    PartialFailureError,
    UsageError,
    open_store,
    plan,
    read_manifest,
    sync,
    verify,
)
from brainbucket._hashing import sha256_bytes
from brainbucket.manifest import Entry, Manifest, write_manifest
from brainbucket.store import S3Store, Store


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def _published(url: str, tmp_path: Path) -> tuple[Store, Manifest]:
    """Upload FILES to ``url``; the store and the manifest the sync wrote."""
    sync(_tree(tmp_path / "src", FILES), url)
    store = open_store(url)
    m = read_manifest(store)
    assert m is not None
    return store, m


FILES = {
    "dataset_description.json": b'{"Name": "t", "BIDSVersion": "1.8.0"}',
    "participants.tsv": b"participant_id\nsub-01\nsub-02\n",
    "sub-01/anat/sub-01_T1w.nii.gz": os.urandom(40_000),
    "sub-01/dwi/sub-01_dwi.bval": b"0 1000 1000\n",
    "sub-02/anat/sub-02_T1w.nii.gz": os.urandom(30_000),
    "sub-02/anat/sub-02_T1w.json": b"{}",
    "derivatives/qsiprep/sub-01/dwi/sub-01_desc-preproc_dwi.nii.gz": os.urandom(20_000),
    "with space/aparc+aseg ünï.txt": b"unicode and spaces",
    "empty.txt": b"",
}


def _same_tree(a: Path, b: Path) -> None:
    files_a = sorted(
        p.relative_to(a).as_posix()
        for p in a.rglob("*")
        if p.is_file() and ".brainbucket" not in p.parts
    )
    files_b = sorted(
        p.relative_to(b).as_posix()
        for p in b.rglob("*")
        if p.is_file() and ".brainbucket" not in p.parts
    )
    assert files_a == files_b
    _match, mismatch, errors = filecmp.cmpfiles(a, b, files_a, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_round_trip(bucket: str, tmp_path: Path) -> None:
    src = _tree(tmp_path / "study", FILES)
    url = f"s3://{bucket}/study"
    first = sync(src, url)
    assert first.transferred == len(FILES)
    assert first.transferred_bytes == sum(map(len, FILES.values()))
    m = read_manifest(open_store(url))
    assert m is not None
    assert {e.path: e.sha256 for e in m.entries()} == {k: sha256_bytes(v) for k, v in FILES.items()}
    assert first.manifest_root == m.root
    again = sync(src, url)
    assert (again.transferred, again.unchanged, again.manifest_root) == (0, len(FILES), m.root)

    # Change one file without changing its size, delete one, re-sync.
    t1 = src / "sub-01/anat/sub-01_T1w.nii.gz"
    t1.write_bytes(os.urandom(40_000))
    (src / "participants.tsv").unlink()
    p = plan(src, url, delete=True)
    assert [(a.kind, a.path, a.reason) for a in p.actions] == [
        ("upload", "sub-01/anat/sub-01_T1w.nii.gz", "content changed (same size)"),
        ("delete", "participants.tsv", "not in source"),
    ]
    third = sync(src, url, delete=True)
    assert (third.transferred, third.deleted) == (1, 1)
    assert not open_store(url).exists("participants.tsv")

    down = tmp_path / "down"
    got = sync(url, down)
    assert got.transferred == len(FILES) - 1
    _same_tree(src, down)
    assert verify(url).ok
    assert verify(down).ok
    assert sync(url, down).transferred == 0


def test_folder_as_destination(tmp_path: Path) -> None:
    src = _tree(tmp_path / "a", FILES)
    dst = tmp_path / "b"
    assert sync(src, dst).transferred == len(FILES)
    _same_tree(src, dst)
    assert sync(src, dst).transferred == 0
    assert verify(dst).ok


def test_same_size_change_caught_on_download(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    src = _tree(tmp_path / "src", FILES)
    sync(src, url)
    down = tmp_path / "down"
    sync(url, down)
    local = down / "sub-02/anat/sub-02_T1w.nii.gz"
    local.write_bytes(os.urandom(30_000))  # same size, other bytes
    p = plan(url, down)
    assert [(a.path, a.reason) for a in p.actions] == [
        ("sub-02/anat/sub-02_T1w.nii.gz", "content changed (same size)")
    ]
    sync(url, down)
    assert local.read_bytes() == FILES["sub-02/anat/sub-02_T1w.nii.gz"]


def test_conflict_two_writers(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    base = _tree(tmp_path / "base", {"README": b"base"})
    sync(base, url)
    a = _tree(tmp_path / "a", {"README": b"base", "sub-01/a.txt": b"from a"})
    b = _tree(tmp_path / "b", {"README": b"base", "sub-02/b.txt": b"from b"})
    # Writer A finishes while writer B is between planning and recording its manifest.
    with pytest.raises(ConflictError) as info:
        sync(b, url, on_plan=lambda _: sync(a, url))
    assert "re-run" in (info.value.hint or "")
    # B re-runs: its file is already there, so only the manifest moves; nothing is lost.
    rerun = sync(b, url)
    assert rerun.transferred == 1  # sub-02/b.txt is not in A's manifest yet
    m = read_manifest(open_store(url))
    assert m is not None
    assert sorted(m) == ["README", "sub-01/a.txt", "sub-02/b.txt"]
    assert verify(url).ok


def test_dry_run_changes_nothing(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    src = _tree(tmp_path / "src", FILES)
    r = sync(src, url, dry_run=True)
    assert r.dry_run
    assert len(r.plan.transfers) == len(FILES)
    assert list(open_store(url).walk()) == []
    sync(src, url)
    (src / "new.txt").write_text("new")
    (src / "empty.txt").unlink()
    before = sorted((o.path, o.etag) for o in open_store(url).walk())
    r = sync(src, url, dry_run=True, delete=True)
    assert [(a.kind, a.path) for a in r.plan.actions] == [
        ("upload", "new.txt"),
        ("delete", "empty.txt"),
    ]
    assert sorted((o.path, o.etag) for o in open_store(url).walk()) == before
    down = tmp_path / "down"
    sync(url, down, dry_run=True)
    assert not down.exists() or list(down.iterdir()) == []


def test_delete_refuses_more_than_half(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    src = _tree(tmp_path / "src", {f"f{i}.txt": b"x" for i in range(6)})
    sync(src, url)
    for i in range(4):
        (src / f"f{i}.txt").unlink()
    with pytest.raises(UsageError, match="more than half"):
        sync(src, url, delete=True)
    data = [o.path for o in open_store(url).walk() if not o.path.startswith(".brainbucket/")]
    assert len(data) == 6  # nothing was deleted
    r = sync(src, url, delete=True, force=True)
    assert r.deleted == 4
    assert sorted(read_manifest(open_store(url))) == ["f4.txt", "f5.txt"]  # type: ignore[arg-type]


def test_selection_never_deletes_unselected(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    src = _tree(tmp_path / "src", FILES)
    sync(src, url)
    partial = _tree(tmp_path / "partial", {"sub-01/anat/sub-01_T1w.nii.gz": b"new content"})
    r = sync(partial, url, delete=True, force=True, select=lambda p: p.startswith("sub-01/"))
    assert (r.transferred, r.deleted) == (1, 1)  # sub-01/dwi/... deleted, nothing else
    m = read_manifest(open_store(url))
    assert m is not None
    assert "sub-02/anat/sub-02_T1w.nii.gz" in m
    assert "sub-01/dwi/sub-01_dwi.bval" not in m
    down = tmp_path / "down"
    got = sync(url, down, filters=[("exclude", "*"), ("include", "sub-02/*")])
    assert sorted(
        p.relative_to(down).as_posix()
        for p in down.rglob("*")
        if p.is_file() and ".brainbucket" not in p.parts
    ) == [
        "sub-02/anat/sub-02_T1w.json",
        "sub-02/anat/sub-02_T1w.nii.gz",
    ]
    assert got.transferred == 2
    assert verify(down).ok  # the folder's manifest holds what was selected


def test_object_changed_behind_the_manifest(unversioned_bucket: str, tmp_path: Path) -> None:
    # Without versions, the changed bytes are all a read can get (with versions, the read
    # fetches the version the manifest names: tests/faults/test_corruption.py).
    url = f"s3://{unversioned_bucket}"
    src = _tree(tmp_path / "src", FILES)
    sync(src, url)
    key = "sub-02/anat/sub-02_T1w.nii.gz"
    open_store(url).write_bytes(key, os.urandom(30_000))  # same size, not through sync
    report = verify(url)
    assert not report.ok
    assert [p for p, _ in report.mismatched] == [key]
    down = tmp_path / "down"
    with pytest.raises(PartialFailureError) as info:
        sync(url, down)
    assert info.value.failures[0][0] == key
    # The manifest sync wrote records BLAKE3 beside SHA-256; downloads check the faster one.
    assert "blake3" in info.value.failures[0][1]
    assert not (down / key).exists()
    assert not [p for p in down.rglob("*") if ".bbpart" in p.name]
    assert (down / "sub-02/anat/sub-02_T1w.json").exists()  # the rest still synced


def test_manifest_without_blake3_is_checked_by_sha256(
    unversioned_bucket: str, tmp_path: Path
) -> None:
    url = f"s3://{unversioned_bucket}"
    store, m = _published(url, tmp_path)
    assert all(e.blake3 for e in m.entries())
    # A manifest from a writer that records only SHA-256 (the format's required digest).
    old = Manifest([dataclasses.replace(e, blake3=None) for e in m.entries()])
    write_manifest(store, old, expected=m.pointer_etag)
    down = tmp_path / "down"
    sync(url, down)
    assert verify(down).ok
    key = "sub-02/anat/sub-02_T1w.nii.gz"
    store.write_bytes(key, os.urandom(30_000))  # same size, not through sync
    (down / key).unlink()
    with pytest.raises(PartialFailureError) as info:
        sync(url, down)
    assert info.value.failures[0][0] == key
    assert "sha256" in info.value.failures[0][1]
    assert not (down / key).exists()


def test_unsafe_manifest_paths_are_refused(bucket: str, tmp_path: Path) -> None:
    store = open_store(f"s3://{bucket}")
    put = store.write_bytes("ok.txt", b"ok")
    evil = Entry("../evil.txt", 2, sha256_bytes(b"ok"))
    write_manifest(store, Manifest([Entry("ok.txt", 2, put.sha256, etag=put.etag), evil]))
    down = tmp_path / "down"
    with pytest.raises(PartialFailureError) as info:
        sync(f"s3://{bucket}", down)
    assert info.value.failures[0][0] == "../evil.txt"
    assert "refused" in info.value.failures[0][1]
    assert (down / "ok.txt").read_bytes() == b"ok"
    assert not (tmp_path / "evil.txt").exists()


def test_clashing_names_without_manifest(bucket: str, tmp_path: Path) -> None:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("x", b"file")
    store.write_bytes("x/y", b"inside")
    down = tmp_path / "down"
    r = sync(f"s3://{bucket}", down, check=False)
    assert [p for p, _ in r.failed] == ["x"]
    assert "clashes" in r.failed[0][1]
    assert (down / "x" / "y").read_bytes() == b"inside"


def test_listing_without_manifest_compares_md5(bucket: str, tmp_path: Path) -> None:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("a.txt", b"aaaa")
    store.write_bytes("b.txt", b"bbbb")
    down = _tree(tmp_path / "down", {"a.txt": b"aaaa", "b.txt": b"XXXX"})
    p = plan(f"s3://{bucket}", down)
    assert [(a.path, a.reason) for a in p.actions] == [
        ("b.txt", "content changed (same size, MD5)")
    ]
    # An upload to a bucket without a manifest records the identical files too.
    up = sync(down, f"s3://{bucket}")
    assert up.transferred == 1
    assert sorted(read_manifest(store)) == ["a.txt", "b.txt"]  # type: ignore[arg-type]


def test_symlinks(bucket: str, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"real/data.txt": b"data"})
    (src / "link.txt").symlink_to(src / "real" / "data.txt")
    (src / "real" / "loop").symlink_to(src)
    (src / "dangling").symlink_to(tmp_path / "nowhere")
    url = f"s3://{bucket}"
    r = sync(src, url, check=False)
    assert sorted(p for p, _ in r.failed) == ["dangling", "real/loop/"]
    store = open_store(url)
    assert store.read_bytes("link.txt") == b"data"
    with pytest.raises(PartialFailureError):
        r.raise_for_failures()
    other = f"s3://{bucket}/nolinks"
    r2 = sync(src, other, follow_symlinks=False)
    assert r2.ok
    assert sorted(read_manifest(open_store(other))) == ["real/data.txt"]  # type: ignore[arg-type]


def test_bad_inputs(s3_env: dict[str, str], bucket: str, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match="no such folder"):
        sync(tmp_path / "missing", f"s3://{bucket}")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        sync(f, f"s3://{bucket}")
    with pytest.raises(UsageError, match="is a file"):
        sync(f"s3://{bucket}", f)
    src = _tree(tmp_path / "src", {"a.txt": b"a"})
    with pytest.raises(BucketNotFoundError) as info:
        sync(src, "s3://no-such-bucket-xyz")
    assert "brainbucket mb s3://no-such-bucket-xyz" in (info.value.hint or "")
    with pytest.raises(ObjectNotFoundError, match="nothing there"):
        sync(f"s3://{bucket}/empty", tmp_path / "dl")
    with pytest.raises(UsageError, match="both sides"):
        sync(f"s3://{bucket}", f"s3://{bucket}/x")
    with pytest.raises(ObjectNotFoundError, match="no manifest"):
        verify(tmp_path / "src")


def test_no_orphaned_multipart_uploads(bucket: str, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"big.bin": os.urandom(11 * 1024 * 1024), "small.txt": b"s"})
    url = f"s3://{bucket}"
    r = sync(src, url, multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024)
    assert r.transferred == 2
    store = open_store(url)
    assert isinstance(store, S3Store)
    assert store.multipart_uploads() == []
    assert verify(url, deep=True).ok
    down = tmp_path / "down"
    sync(url, down, multipart_threshold=5 * 1024 * 1024)
    _same_tree(src, down)


def test_remembered_state_is_dropped_when_the_dataset_moves(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    a = _tree(tmp_path / "a", {"sub-01/x.txt": b"from a", "README": b"r"})
    b = _tree(tmp_path / "b", {"sub-01/x.txt": b"from b", "README": b"r"})
    sync(a, url)
    assert sync(a, url).transferred == 0  # unchanged: known without reading shards
    sync(b, url)  # someone else changes the file (same size) in the dataset
    again = sync(a, url)  # a's folder did not change, but the dataset did
    assert [x.path for x in again.plan.transfers] == ["sub-01/x.txt"]
    assert open_store(url).read_bytes("sub-01/x.txt") == b"from a"
    down = tmp_path / "down"
    sync(url, down)
    sync(b, url)
    assert sync(url, down).transferred == 1
    assert (down / "sub-01/x.txt").read_bytes() == b"from b"


def test_stale_temporary_files_of_killed_downloads_are_removed(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    sync(_tree(tmp_path / "src", {"a.txt": b"a"}), url)
    down = tmp_path / "down"
    down.mkdir()
    old = down / ".a.txt.deadbeef.bbpart"
    fresh = down / ".a.txt.cafecafe.bbpart"
    kept = down / ".big.bin.resume.bbpart"
    for p in (old, fresh, kept):
        p.write_bytes(b"partial")
    os.utime(old, (1, 1))
    os.utime(kept, (1, 1))
    sync(url, down)
    assert not old.exists()
    assert fresh.exists()  # may belong to a download running right now
    assert kept.exists()  # resumable: the next download of that file continues it


def test_prefixes_read_only_their_shards(bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}"
    store, m = _published(url, tmp_path)
    keep = {m._refs["sub-01/"].sha256}
    for o in list(store.walk(".brainbucket/shards")):
        if not any(o.path.endswith(h.partition(":")[2] + ".jsonl.gz") for h in keep):
            store.delete(o.path)
    import shutil

    shutil.rmtree(os.environ["BRAINBUCKET_CACHE"])  # no cached shards either
    down = tmp_path / "down"
    r = sync(url, down, prefixes=["sub-01/"])
    assert r.transferred == 2
    assert sorted(
        p.relative_to(down).as_posix()
        for p in down.rglob("*")
        if p.is_file() and ".brainbucket" not in p.parts
    ) == [
        "sub-01/anat/sub-01_T1w.nii.gz",
        "sub-01/dwi/sub-01_dwi.bval",
    ]
