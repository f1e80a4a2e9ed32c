"""Corruption: data changed behind the manifest's back, local files altered, damaged metadata."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from brainbucket import (
    ManifestError,
    PartialFailureError,
    open_store,
    sync,
)
from brainbucket.cli import run
from brainbucket.manifest import HEAD_PATH, Entry, Manifest, read_manifest, write_manifest
from brainbucket.store import S3Store
from brainbucket.sync import verify

from ._helpers import make_study, temporaries, tree_digests

VICTIM = "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii"


@pytest.fixture(autouse=True)
def _fresh_manifest_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test reads manifests from the server, not from an earlier test's cache."""
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))


def _study(tmp_path: Path) -> Path:
    src = make_study(tmp_path / "study", big=False)
    assert (src / VICTIM).stat().st_size > 1000
    return src


def _tamper(store: S3Store, path: str) -> bytes:
    """Replace an object with different bytes of the same size, around brainbucket."""
    old = store.read_bytes(path)
    new = bytes(b ^ 0xFF for b in old[:64]) + old[64:]
    assert len(new) == len(old)
    assert new != old
    store.client.put_object(Bucket=store.bucket, Key=store.key(path), Body=new)
    return new


def test_changed_object_caught_by_download_and_verify(
    plain_bucket: str, s3_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{plain_bucket}/{uuid.uuid4().hex[:8]}"
    src = _study(tmp_path)
    assert sync(src, url).ok
    store = open_store(url)
    assert isinstance(store, S3Store)
    _tamper(store, VICTIM)

    report = verify(url)
    assert [p for p, _ in report.mismatched] == [VICTIM]
    assert [p for p, _ in verify(url, deep=True).mismatched] == [VICTIM]
    assert run(["verify", url]) == 8
    assert VICTIM in capsys.readouterr().out + capsys.readouterr().err

    dest = tmp_path / "down"
    result = sync(url, dest, check=False)
    assert [p for p, _ in result.failed] == [VICTIM]
    assert "does not match the expected" in result.failed[0][1]
    assert not (dest / VICTIM).exists()
    assert temporaries(dest) == []
    want = tree_digests(src)
    del want[VICTIM]
    assert tree_digests(dest) == want
    with pytest.raises(PartialFailureError):
        sync(url, tmp_path / "down2")
    code = run(["sync", url, str(tmp_path / "down3"), "--quiet"])
    assert code == PartialFailureError.exit_code
    err = capsys.readouterr().err
    assert VICTIM in err
    assert "Traceback" not in err


def test_changed_object_in_versioned_bucket_never_lands(root_url: str, tmp_path: Path) -> None:
    """In a versioned bucket the recorded version still exists; either it is fetched, or the
    changed bytes are refused — the wrong bytes never land under the file's name."""
    src = _study(tmp_path)
    assert sync(src, root_url).ok
    store = open_store(root_url)
    assert isinstance(store, S3Store)
    _tamper(store, VICTIM)
    # The tampered object is a newer version over the recorded one, which is intact: what
    # every read fetches, so verify reports it superseded, not damaged.
    report = verify(root_url)
    assert (report.ok, report.superseded) == (True, [VICTIM])
    dest = tmp_path / "down"
    result = sync(root_url, dest, check=False)
    want = tree_digests(src)
    if result.failed:
        assert [p for p, _ in result.failed] == [VICTIM]
        assert not (dest / VICTIM).exists()
        del want[VICTIM]
    assert tree_digests(dest) == want


def test_local_file_changed_after_download_caught_by_verify(
    root_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _study(tmp_path)
    assert sync(src, root_url).ok
    dest = tmp_path / "down"
    assert sync(root_url, dest).ok
    assert verify(dest).ok
    victim = dest / VICTIM
    st = victim.stat()
    data = bytearray(victim.read_bytes())
    data[200] ^= 0x01  # one bit, same size, same modification time
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = verify(dest)
    assert [p for p, _ in report.mismatched] == [VICTIM]
    assert run(["verify", str(dest)]) == 8
    assert VICTIM in capsys.readouterr().out + capsys.readouterr().err
    # Deleting it makes the next sync fetch it again, verified.
    victim.unlink()
    assert sync(root_url, dest).ok
    assert verify(dest).ok


# -- damaged manifest objects ----------------------------------------------------------------


def _damage_pointer(store: S3Store) -> None:
    blob = store.read_bytes(HEAD_PATH)
    store.write_bytes(HEAD_PATH, blob[: len(blob) // 2])


def _garbage_pointer(store: S3Store) -> None:
    store.write_bytes(HEAD_PATH, b"\x00\xffnot json at all")


def _pointer_to_nowhere(store: S3Store) -> None:
    store.write_bytes(
        HEAD_PATH, b'{"format": "brainbucket-pointer/1", "root": "sha256:' + b"0" * 64 + b'"}\n'
    )


def _truncate_root(store: S3Store) -> None:
    root = read_manifest(store, cache=False).root  # type: ignore[union-attr]
    path = f".brainbucket/roots/{root.partition(':')[2]}"
    if not store.exists(path):  # the layout is the manifest module's: find the root object
        path = next(o.path for o in store.walk(".brainbucket") if root.partition(":")[2] in o.path)
    blob = store.read_bytes(path)
    store.write_bytes(path, blob[:-7])


def _truncate_shard(store: S3Store) -> None:
    m = read_manifest(store, cache=False)
    assert m is not None
    root_hex = m.root.partition(":")[2]
    shards = [
        o.path
        for o in store.walk(".brainbucket")
        if not o.path.endswith("HEAD") and root_hex not in o.path
    ]
    assert shards
    for path in shards:
        blob = store.read_bytes(path)
        store.write_bytes(path, blob[: len(blob) // 3])


DAMAGE = {
    "pointer-truncated": _damage_pointer,
    "pointer-garbage": _garbage_pointer,
    "pointer-to-missing-root": _pointer_to_nowhere,
    "root-truncated": _truncate_root,
    "shards-truncated": _truncate_shard,
}


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            d, marks=[] if d in ("pointer-garbage", "shards-truncated") else [pytest.mark.slow]
        )
        for d in sorted(DAMAGE)
    ],
)
def test_damaged_manifest_is_a_clear_error(
    damage: str, root_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _study(tmp_path)
    assert sync(src, root_url).ok
    store = open_store(root_url)
    assert isinstance(store, S3Store)
    DAMAGE[damage](store)

    with pytest.raises(ManifestError):
        _read_everything(store)
    dest = tmp_path / "down"
    with pytest.raises(ManifestError):
        sync(root_url, dest)
    assert not dest.exists() or tree_digests(dest) == {}
    for argv in (["sync", root_url, str(dest)], ["verify", root_url]):
        code = run(argv)
        err = capsys.readouterr().err
        assert code == ManifestError.exit_code, (argv, err)
        assert err.strip().startswith("error:")
        assert "Traceback" not in err
    # An upload onto damaged metadata stops too, rather than building on it.
    with pytest.raises(ManifestError):
        sync(src, root_url)


def test_local_manifest_damaged_is_a_clear_error(root_url: str, tmp_path: Path) -> None:
    src = _study(tmp_path)
    assert sync(src, root_url).ok
    dest = tmp_path / "down"
    assert sync(root_url, dest).ok
    head = dest / HEAD_PATH
    assert head.exists()
    head.write_bytes(head.read_bytes()[:10])
    with pytest.raises(ManifestError):
        verify(dest)
    assert run(["verify", str(dest)]) == ManifestError.exit_code


def test_manifest_with_hostile_paths_writes_nothing_outside(root_url: str, tmp_path: Path) -> None:
    """A manifest is remote input too: its paths go through the same key checks."""
    store = open_store(root_url)
    store.write_bytes("sub-01/ok.txt", b"fine")
    good = Entry("sub-01/ok.txt", 4, "sha256:" + _sha_hex(b"fine"))
    hostile = [
        Entry(p, 4, "sha256:" + _sha_hex(b"evil"))
        for p in ("../escape.txt", "sub-01/../../escape2.txt", "/abs.txt", "a\\b.txt", "nl\n.txt")
    ]
    write_manifest(store, Manifest([good, *hostile]), expected=None)
    dest = tmp_path / "inner" / "down"
    result = sync(root_url, dest, check=False)
    assert sorted(p for p, _ in result.failed) == sorted(e.path for e in hostile)
    assert (dest / "sub-01" / "ok.txt").read_bytes() == b"fine"
    assert sorted(p.name for p in (tmp_path / "inner").iterdir()) == ["down"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "inner"]


def _sha_hex(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _read_everything(store: S3Store) -> None:
    m = read_manifest(store, cache=False)
    assert m is not None
    m.load()


def test_download_reads_the_version_the_manifest_names(root_url: str, tmp_path: Path) -> None:
    """Readers never mix two uploads: after an overwrite around brainbucket, a download still
    gets the bytes the manifest describes — the version it recorded — by the fast path."""
    src = _study(tmp_path)
    assert sync(src, root_url).ok
    store = open_store(root_url)
    assert isinstance(store, S3Store)
    _tamper(store, VICTIM)
    dest = tmp_path / "down"
    result = sync(root_url, dest)
    assert result.ok, result.failed
    assert tree_digests(dest) == tree_digests(src)
