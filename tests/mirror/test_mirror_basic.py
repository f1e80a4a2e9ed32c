"""Mirror: fetch only what is missing, verified; stale copies refetched; offline answers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from brainbucket import (
    BrainbucketError,
    Callbacks,
    IntegrityError,
    Mirror,
    ObjectNotFoundError,
    OfflineError,
    open_store,
)
from brainbucket.bids import selector
from brainbucket.store import S3Store


class _Fetched(Callbacks[str]):
    """Keys of the files downloaded."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def on_done(self, key: str, error: BrainbucketError | None) -> None:
        if error is None:
            self.keys.append(key)


def _counting(m_kwargs: dict) -> tuple[dict, list[str]]:
    fetched = _Fetched()
    return {**m_kwargs, "callbacks": fetched}, fetched.keys


def test_files_fetches_only_what_is_missing(remote, cache: Path) -> None:
    kwargs, fetched = _counting({"cache_dir": cache})
    m = Mirror(remote.url, **kwargs)
    paths = m.files(subject="01", datatype="dwi", pipeline="raw")
    expected = sorted(k for k in remote.keys if k.startswith("sub-01/ses-01/dwi/"))
    assert sorted(fetched) == expected
    assert [p.relative_to(m.root / "files").as_posix() for p in paths] == expected
    for p, key in zip(paths, expected, strict=True):
        assert p.read_bytes() == (remote.local / key).read_bytes()
    # asked again, by a new Mirror object too: nothing moves
    assert Mirror(remote.url, **kwargs).files(subject="01", datatype="dwi", pipeline="raw") == paths
    assert sorted(fetched) == expected
    # a wider question fetches only the difference
    m.files(subject="01", pipeline="raw")
    assert len(fetched) == len([k for k in remote.keys if k.startswith("sub-01/")])


def test_path_with_one_head_and_unknown_key(remote, cache: Path) -> None:
    m = Mirror(remote.url, cache_dir=cache)
    p = m.path("sub-02/ses-01/anat/sub-02_ses-01_T1w.nii")
    assert (
        p.read_bytes() == (remote.local / "sub-02/ses-01/anat/sub-02_ses-01_T1w.nii").read_bytes()
    )
    with pytest.raises(ObjectNotFoundError):
        m.path("sub-09/anat/nothing.nii")
    assert not list((m.root / "files").rglob("*.bbpart"))


def test_selection_download_is_exactly_requested_plus_dataset_files(remote, cache: Path) -> None:
    m = Mirror(remote.url, cache_dir=cache)
    sel = selector(m.study, subject=["01", "03"], datatype="anat", pipeline="raw")
    m.fetch(sel)
    on_disk = {
        p.relative_to(m.root / "files").as_posix()
        for p in (m.root / "files").rglob("*")
        if p.is_file()
    }
    expected = {
        k for k in remote.keys if k.startswith(("sub-01/ses-01/anat/", "sub-03/ses-01/anat/"))
    } | {"README", "dataset_description.json", "participants.tsv"}
    assert on_disk == expected


def test_changed_remote_file_is_fetched_again(remote, cache: Path) -> None:
    key = "sub-01/ses-01/dwi/sub-01_ses-01_dwi.bval"
    m = Mirror(remote.url, cache_dir=cache)
    old = m.path(key).read_bytes()
    new = old.replace(b"0", b"5")  # same size, new content
    assert len(new) == len(old)
    assert new != old
    remote.store.write_bytes(key, new)
    kwargs, fetched = _counting({"cache_dir": cache})
    assert Mirror(remote.url, **kwargs).path(key).read_bytes() == new
    assert fetched == [key]
    # through the listing too
    newer = new.replace(b"5", b"7")
    remote.store.write_bytes(key, newer)
    m2 = Mirror(remote.url, **kwargs)
    assert (
        m2.files(subject="01", suffix="dwi", extension=".bval", pipeline="raw")[0].read_bytes()
        == newer
    )
    assert fetched == [key, key]


def test_damaged_cached_file_is_not_served(remote, cache: Path) -> None:
    key = "participants.tsv"
    m = Mirror(remote.url, cache_dir=cache)
    p = m.path(key)
    good = p.read_bytes()
    p.write_bytes(b"X" * len(good))  # damaged in place
    assert Mirror(remote.url, cache_dir=cache).path(key).read_bytes() == good


def test_verify_removes_silently_damaged_files(remote, cache: Path) -> None:
    m = Mirror(remote.url, cache_dir=cache)
    paths = m.files(subject="02", datatype="anat", pipeline="raw")
    st = paths[0].stat()
    with open(paths[0], "r+b") as f:  # flip a byte, then restore the timestamps
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    report = m.verify()
    assert report.checked == len(paths)
    assert report.damaged == [paths[0].relative_to(m.root / "files").as_posix()]
    assert not paths[0].exists()
    assert (
        m.files(subject="02", datatype="anat", pipeline="raw")[0].read_bytes()
        == (remote.local / report.damaged[0]).read_bytes()
    )


def test_offline_answers_from_cache_without_requests(remote, cache: Path, monkeypatch) -> None:
    Mirror(remote.url, cache_dir=cache).files(subject="01", datatype="anat")
    # Without credentials any request would fail: offline must not make one.
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("BRAINBUCKET_OFFLINE", "1")
    m = Mirror(remote.url, cache_dir=cache)
    assert m.offline
    paths = m.files(subject="01", datatype="anat")
    assert paths
    assert all(p.is_file() for p in paths)
    assert m.path(paths[0].relative_to(m.root / "files").as_posix()) == paths[0]
    with pytest.raises(OfflineError, match="not in the cache: sub-02/ses-01/dwi/") as info:
        m.files(subject="02", datatype="dwi", pipeline="raw")
    assert len(info.value.missing) == 4  # type: ignore[attr-defined]
    with pytest.raises(OfflineError, match="never listed"):
        Mirror(remote.url + "/other", cache_dir=cache).files(subject="01")


def test_remote_changed_during_fetch_is_refused(s3_env, tmp_path: Path, cache: Path) -> None:
    """An unversioned bucket changed between listing and download: the bytes do not match
    the listed ETag, so nothing is kept under the real name."""
    name = f"unver-{os.getpid()}-{tmp_path.name[-6:]}".lower().replace("_", "-")
    store = open_store(f"s3://{name}")
    assert isinstance(store, S3Store)
    store.create_bucket(versioning=False)
    store.write_bytes("dataset_description.json", b"{}")
    store.write_bytes("sub-01/anat/sub-01_T1w.nii", b"a" * 1000)
    m = Mirror(f"s3://{name}", cache_dir=cache)
    assert m.study.subjects() == ["01"]  # listed now
    store.write_bytes("sub-01/anat/sub-01_T1w.nii", b"b" * 1000)
    with pytest.raises(IntegrityError, match="does not match the ETag"):
        m.files(subject="01")
    assert not (m.root / "files/sub-01/anat/sub-01_T1w.nii").exists()
    assert not list((m.root / "files").rglob("*.bbpart"))
    m.refresh()
    assert m.files(subject="01")[0].read_bytes() == b"b" * 1000


def test_local_folder_mirror(tmp_path: Path, cache: Path) -> None:
    from brainbucket._demo import build_demo_study

    src = build_demo_study(tmp_path / "study", subjects=1)
    m = Mirror(src, cache_dir=cache)
    p = m.path("sub-01/ses-01/anat/sub-01_ses-01_T1w.json")
    assert p.read_bytes() == (src / "sub-01/ses-01/anat/sub-01_ses-01_T1w.json").read_bytes()
    (src / "sub-01/ses-01/anat/sub-01_ses-01_T1w.json").write_text('{"RepetitionTime": 9.9}')
    assert (
        Mirror(src, cache_dir=cache).path("sub-01/ses-01/anat/sub-01_ses-01_T1w.json").read_text()
        == '{"RepetitionTime": 9.9}'
    )


def test_cache_root_from_environment(remote, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "envcache"))
    m = Mirror(remote.url)
    assert m.root.is_relative_to(tmp_path / "envcache")
    assert m.path("README").is_relative_to(tmp_path / "envcache")


def test_gc_evicts_least_recently_used(remote, cache: Path) -> None:
    m = Mirror(remote.url, cache_dir=cache)
    keys = [
        "sub-01/ses-01/dwi/sub-01_ses-01_dwi.bval",
        "sub-02/ses-01/dwi/sub-02_ses-01_dwi.bval",
        "sub-03/ses-01/dwi/sub-03_ses-01_dwi.bval",
    ]
    paths = [m.path(k) for k in keys]
    for i, p in enumerate(paths):  # make the access order explicit: keys[0] oldest
        st = p.stat()
        os.utime(p, ns=(1_000_000_000 * (i + 1), st.st_mtime_ns))
    m.path(keys[0])  # used now: the most recent
    size = paths[0].stat().st_size
    report = m.gc(max_size=2 * size)
    assert report.removed == 1
    assert report.kept == 2
    assert paths[0].exists()
    assert not paths[1].exists()
    assert paths[2].exists()


def test_offline_path_without_a_saved_listing(remote, cache: Path, monkeypatch) -> None:
    """Files fetched one by one (HEAD, no listing) are still served offline."""
    key = "sub-03/ses-01/anat/sub-03_ses-01_T1w.json"
    got = Mirror(remote.url, cache_dir=cache).path(key)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k, raising=False)
    m = Mirror(remote.url, cache_dir=cache, offline=True)
    assert m.path(key) == got
    with pytest.raises(OfflineError, match="not in the cache: README"):
        m.path("README")


def test_public_study_read_anonymously(
    public_bucket: str, tmp_path: Path, cache: Path, monkeypatch
) -> None:
    """An analyst without credentials: study queries and the mirror over unsigned requests."""
    import uuid

    from brainbucket import Study
    from brainbucket._demo import build_demo_study

    src = build_demo_study(tmp_path / "pub", subjects=2)
    prefix = f"study-{uuid.uuid4().hex[:8]}"
    store = open_store(f"s3://{public_bucket}/{prefix}")
    for p in sorted(src.rglob("*")):
        if p.is_file():
            store.upload(p, p.relative_to(src).as_posix())
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k, raising=False)
    url = f"s3://{public_bucket}/{prefix}"
    assert Study(url, anon=True).select(where="sex == 'M'") == ["02"]
    m = Mirror(url, anon=True, cache_dir=cache)
    (path,) = m.files(subject="02", suffix="T1w", extension=".nii", pipeline="raw")
    assert path.read_bytes() == (src / "sub-02/ses-01/anat/sub-02_ses-01_T1w.nii").read_bytes()
