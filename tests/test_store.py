"""One backend-agnostic suite: every store verb, against the S3 store and the local store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from brainbucket import (
    ConflictError,
    Expected,
    FolderInfo,
    IntegrityError,
    ObjectInfo,
    ObjectNotFoundError,
)
from brainbucket._hashing import sha256_bytes
from brainbucket.store import Store

ODD_KEYS = [
    "sub-01/anat/sub-01_aparc+aseg.nii.gz",
    "with space/file name.txt",
    "unicode/ünïcødé-日本.json",
    "empty/zero-bytes.bin",
    "percent/a%20b.txt",
]


def _fill(store: Store) -> dict[str, bytes]:
    data = {k: (k.encode() * 3 if "zero" not in k else b"") for k in ODD_KEYS}
    for k, v in data.items():
        store.write_bytes(k, v)
    return data


def test_write_read_roundtrip_odd_keys(store: Store) -> None:
    data = _fill(store)
    for key, body in data.items():
        assert store.read_bytes(key) == body
        info = store.info(key)
        assert info.size == len(body)
        assert info.path == key
    assert sorted(o.path for o in store.walk()) == sorted(data)


def test_ls_one_level_shows_folders_and_objects(store: Store) -> None:
    store.write_bytes("a.txt", b"file")
    store.write_bytes("a/inner.txt", b"inner")  # folder/file name clash: a/ next to a.txt
    store.write_bytes("b/c/d.txt", b"deep")
    entries = list(store.ls())
    folders = [e.path for e in entries if isinstance(e, FolderInfo)]
    objects = [e.path for e in entries if isinstance(e, ObjectInfo)]
    assert folders == ["a/", "b/"]
    assert objects == ["a.txt"]
    assert [e.path for e in store.ls("b")] == ["b/c/"]
    assert [e.path for e in store.ls("a")] == ["a/inner.txt"]


def test_ls_of_an_object_path_yields_it(store: Store) -> None:
    store.write_bytes("x/y.txt", b"1")
    [entry] = list(store.ls("x/y.txt"))
    assert isinstance(entry, ObjectInfo)
    assert entry.path == "x/y.txt"


def test_ls_missing_path_is_not_found(store: Store) -> None:
    store.write_bytes("present.txt", b"1")
    with pytest.raises(ObjectNotFoundError):
        list(store.ls("absent"))


def test_recursive_listing_and_walk(store: Store) -> None:
    keys = [f"sub-{i:02d}/ses-01/anat/sub-{i:02d}_T1w.nii.gz" for i in range(1, 6)]
    for k in keys:
        store.write_bytes(k, b"x")
    assert sorted(e.path for e in store.ls(recursive=True)) == sorted(keys)
    assert [o.path for o in store.walk("sub-03")] == [keys[2]]


def test_du_per_child_and_total(store: Store) -> None:
    store.write_bytes("sub-01/a", b"12345")
    store.write_bytes("sub-01/b/c", b"12")
    store.write_bytes("sub-02/a", b"1")
    store.write_bytes("top.txt", b"1234")
    rows, total = store.du()
    assert {r.path: (r.size, r.count) for r in rows} == {
        "sub-01/": (7, 2),
        "sub-02/": (1, 1),
        "top.txt": (4, 1),
    }
    assert (total.size, total.count) == (12, 4)


def test_tree_respects_depth(store: Store) -> None:
    store.write_bytes("a/b/c/d.txt", b"1")
    levels = [(lvl, e.path) for lvl, e in store.tree(depth=2)]
    assert levels == [(0, "a/"), (1, "a/b/")]


def test_download_verifies_and_renames(store: Store, tmp_path: Path) -> None:
    body = b"nifti-bytes" * 1000
    store.write_bytes("sub-01/dwi.nii.gz", body)
    dest = tmp_path / "out" / "dwi.nii.gz"
    digest = store.download("sub-01/dwi.nii.gz", dest)
    assert dest.read_bytes() == body
    assert digest == sha256_bytes(body)
    assert not list(dest.parent.glob("*.bbpart"))


def test_download_with_wrong_digest_leaves_nothing(store: Store, tmp_path: Path) -> None:
    store.write_bytes("f.bin", b"real content")
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "f.bin"
    dest.write_bytes(b"old good copy")
    with pytest.raises(IntegrityError, match=r"f\.bin"):
        store.download("f.bin", dest, Expected(sha256=sha256_bytes(b"something else")))
    assert dest.read_bytes() == b"old good copy"
    assert list(out.iterdir()) == [dest]


def test_download_with_wrong_size_is_integrity_error(store: Store, tmp_path: Path) -> None:
    store.write_bytes("f.bin", b"12345")
    out = tmp_path / "out"
    with pytest.raises(IntegrityError):
        store.download("f.bin", out / "f.bin", Expected(size=6))
    assert list(out.iterdir()) == []


def test_upload_file_and_digest(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"\x00\x01" * 5000)
    seen: list[int] = []
    result = store.upload(src, "up/src.bin", progress=seen.append)
    assert result.sha256 == sha256_bytes(src.read_bytes())
    assert result.size == 10000
    assert sum(seen) == 10000
    assert store.read_bytes("up/src.bin") == src.read_bytes()


def test_metadata_roundtrip(store: Store) -> None:
    store.write_bytes("m.txt", b"x", metadata={"sha256": "abc", "source": "test"})
    assert store.info("m.txt").metadata == {"sha256": "abc", "source": "test"}


def test_range_read(store: Store) -> None:
    store.write_bytes("r.bin", bytes(range(100)))
    assert store.read_bytes("r.bin", start=10, end=20) == bytes(range(10, 20))
    assert store.read_bytes("r.bin", start=95) == bytes(range(95, 100))


def test_conditional_writes(store: Store) -> None:
    first = store.write_bytes("HEAD", b"1", if_none_match=True)
    with pytest.raises(ConflictError):
        store.write_bytes("HEAD", b"2", if_none_match=True)
    assert first.etag is not None
    second = store.write_bytes("HEAD", b"3", if_match=first.etag)
    with pytest.raises(ConflictError):
        store.write_bytes("HEAD", b"4", if_match=first.etag)  # stale
    assert store.read_bytes("HEAD") == b"3"
    assert second.etag != first.etag


def test_delete_and_delete_many(store: Store) -> None:
    for k in ("a/1", "a/2", "a/3", "b"):
        store.write_bytes(k, b"x")
    store.delete("b")
    store.delete("never-existed")  # not an error, as in S3
    assert not store.exists("b")
    assert store.delete_many(["a/1", "a/2", "a/3"]) == []
    assert list(store.walk()) == []


def test_missing_object_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.info("nope")
    with pytest.raises(ObjectNotFoundError):
        store.read_bytes("nope")
    with pytest.raises(FileNotFoundError):  # the built-in still catches it
        store.download("nope", tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


def test_presign_gives_a_url(store: Store) -> None:
    store.write_bytes("p.txt", b"hello")
    url = store.presign("p.txt", expires=60)
    assert url.startswith(("http://", "file://"))


def test_versions_lists_current(store: Store) -> None:
    store.write_bytes("v.txt", b"one")
    store.write_bytes("v.txt", b"two")
    versions = store.versions("v.txt")
    assert versions[0].is_latest
    assert all(v.path == "v.txt" for v in versions)


def test_async_transfers(store: Store, tmp_path: Path) -> None:
    srcs = []
    for i in range(20):
        p = tmp_path / "in" / f"f{i}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(f"file {i}".encode() * (i + 1))
        srcs.append(p)

    async def go() -> None:
        await asyncio.gather(*(store.aupload(p, f"async/{p.name}") for p in srcs))
        await asyncio.gather(
            *(store.adownload(f"async/{p.name}", tmp_path / "out" / p.name) for p in srcs)
        )

    asyncio.run(go())
    for p in srcs:
        assert (tmp_path / "out" / p.name).read_bytes() == p.read_bytes()
