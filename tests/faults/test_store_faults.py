"""The store layer under injected network and server faults.

Every test checks two things: the fault really happened (the proxy recorded it), and the
outcome is either verified data or a clear brainbucket error with nothing partial left under a
real name. The session sets ``BRAINBUCKET_RETRIES`` (2: three attempts per request); the
transient faults below hit each request at most twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from brainbucket import (
    BrainbucketError,
    EndpointError,
    Expected,
    ObjectInfo,
    ServerError,
    open_store,
)
from brainbucket._hashing import TMP_SUFFIX, sha256_bytes
from brainbucket.store import S3Store

from .proxy import Fault, FaultProxy

# Faults a client must ride out: (name, fault factory for a method/path filter).
TRANSIENT = {
    "503": lambda **kw: Fault("status", status=503, code="ServiceUnavailable", **kw),
    "500": lambda **kw: Fault("status", status=500, code="InternalError", **kw),
    "slowdown": lambda **kw: Fault("status", status=503, code="SlowDown", **kw),
    "drop": lambda **kw: Fault("drop", **kw),
    "reset": lambda **kw: Fault("reset", **kw),
}

DATA = os.urandom(300_000) + b"tail"


def attempts() -> int:
    """Requests per operation: one try plus ``BRAINBUCKET_RETRIES`` (the session sets it)."""
    from brainbucket.store._settings import retries

    return retries() + 1


def _leftovers(folder: Path) -> list[str]:
    """Anything in ``folder`` other than what a test put there on purpose."""
    return sorted(p.name for p in folder.iterdir())


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob(f"*{TMP_SUFFIX}")], "a temporary file was left behind"


@pytest.fixture
def remote(direct_store: S3Store) -> str:
    """One object written directly (no faults); its path."""
    direct_store.write_bytes("sub-01/anat/sub-01_T1w.nii.gz", DATA)
    return "sub-01/anat/sub-01_T1w.nii.gz"


# -- transient faults are survived -------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(TRANSIENT))
def test_download_survives_two_faults(
    kind: str, faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    proxy.add(TRANSIENT[kind](method="GET", first=2))
    dest = tmp_path / "T1w.nii.gz"
    digest = faulty_store.download(remote, dest, Expected(sha256=sha256_bytes(DATA)))
    assert digest == sha256_bytes(DATA)
    assert dest.read_bytes() == DATA
    assert len(proxy.injected()) == 2
    assert _leftovers(tmp_path) == ["T1w.nii.gz"]


@pytest.mark.parametrize("kind", ["503", "drop", "reset"])
def test_async_download_survives_two_faults(
    kind: str, faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    proxy.add(TRANSIENT[kind](method="GET", first=2))
    dest = tmp_path / "T1w.nii.gz"
    digest = asyncio.run(faulty_store.adownload(remote, dest, Expected(size=len(DATA))))
    assert digest == sha256_bytes(DATA)
    assert dest.read_bytes() == DATA
    assert len(proxy.injected()) == 2


@pytest.mark.parametrize("kind", ["503", "drop"])
def test_head_survives_two_faults(
    kind: str, faulty_store: S3Store, proxy: FaultProxy, remote: str
) -> None:
    proxy.add(TRANSIENT[kind](method="HEAD", first=2))
    assert faulty_store.info(remote).size == len(DATA)
    assert len(proxy.injected()) == 2


@pytest.mark.parametrize("kind", ["slowdown", "drop", "reset"])
def test_upload_survives_two_faults(
    kind: str,
    faulty_store: S3Store,
    direct_store: S3Store,
    proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    src = tmp_path / "dwi.nii.gz"
    src.write_bytes(DATA)
    proxy.add(TRANSIENT[kind](method="PUT", first=2))
    result = faulty_store.upload(src, "sub-01/dwi/sub-01_dwi.nii.gz")
    assert result.sha256 == sha256_bytes(DATA)
    assert direct_store.read_bytes("sub-01/dwi/sub-01_dwi.nii.gz") == DATA
    assert len(proxy.injected()) == 2


@pytest.mark.parametrize("kind", ["500", "reset"])
@pytest.mark.parametrize("recursive", [True, False])
def test_listing_survives_two_faults(
    kind: str, recursive: bool, faulty_store: S3Store, proxy: FaultProxy, remote: str
) -> None:
    proxy.add(TRANSIENT[kind](method="GET", path="list-type=2", first=2))
    paths = [e.path for e in faulty_store.ls("sub-01/anat", recursive=recursive)]
    assert paths == [remote]
    assert len(proxy.injected()) == 2


def test_retry_count_follows_brainbucket_retries(
    root_url: str, proxy: FaultProxy, remote: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "4")
    store = open_store(root_url, endpoint_url=proxy.url)
    proxy.add(Fault("status", method="GET", first=4))
    assert store.read_bytes(remote) == DATA
    assert len(proxy.injected()) == 4


# -- a response cut midway never yields a complete-looking file -----------------------------


def test_cut_download_resumes_and_verifies(
    faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    proxy.add(Fault("cut", method="GET", first=2, after_bytes=100_000))
    dest = tmp_path / "T1w.nii.gz"
    assert faulty_store.download(remote, dest) == sha256_bytes(DATA)
    assert dest.read_bytes() == DATA
    assert len(proxy.injected("cut")) == 2


def test_cut_on_every_attempt_leaves_nothing(
    faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    proxy.add(Fault("cut", method="GET", after_bytes=100_000))
    dest = tmp_path / "T1w.nii.gz"
    with pytest.raises(ServerError, match="broke off") as info:
        faulty_store.download(remote, dest)
    assert info.value.hint
    assert _leftovers(tmp_path) == []
    assert len(proxy.injected("cut")) == attempts()


def test_cut_async_download_leaves_nothing(
    faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    proxy.add(Fault("cut", method="GET", after_bytes=50_000))
    dest = tmp_path / "T1w.nii.gz"
    dest.write_bytes(b"the previous good copy")
    with pytest.raises(ServerError):
        asyncio.run(faulty_store.adownload(remote, dest))
    # The old file is untouched and no temporary file remains.
    assert dest.read_bytes() == b"the previous good copy"
    assert _leftovers(tmp_path) == ["T1w.nii.gz"]


def test_cut_listing_resumes_without_duplicates(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy
) -> None:
    keys = [f"sub-{i:02d}/anat/sub-{i:02d}_T1w.nii.gz" for i in range(30)]
    for k in keys:
        direct_store.write_bytes(k, k.encode())
    proxy.add(Fault("cut", method="GET", path="list-type=2", first=2, after_bytes=900))
    assert [o.path for o in faulty_store.walk()] == sorted(keys)
    assert len(proxy.injected("cut")) == 2


def test_cut_listing_every_time_is_a_clear_error(
    faulty_store: S3Store, proxy: FaultProxy, remote: str
) -> None:
    proxy.add(Fault("cut", method="GET", path="list-type=2", after_bytes=50))
    with pytest.raises(ServerError):
        list(faulty_store.walk())
    assert len(proxy.injected("cut")) == attempts()


def test_stalled_answers_still_arrive(
    faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    proxy.add(Fault("stall", method="GET", first=1, seconds=1.0))
    assert faulty_store.read_bytes(remote) == DATA
    assert len(proxy.injected("stall")) == 1


# -- retries run out: clear errors, nothing partial -----------------------------------------


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("503", ServerError),
        ("slowdown", ServerError),
        ("500", ServerError),
        ("drop", ServerError),
        ("reset", ServerError),
    ],
)
def test_exhausted_download_is_clear_and_clean(
    kind: str,
    error: type[BrainbucketError],
    faulty_store: S3Store,
    proxy: FaultProxy,
    remote: str,
    tmp_path: Path,
) -> None:
    proxy.add(TRANSIENT[kind](method="GET"))
    dest = tmp_path / "T1w.nii.gz"
    with pytest.raises(error) as info:
        faulty_store.download(remote, dest)
    assert remote in str(info.value)
    assert info.value.hint
    assert _leftovers(tmp_path) == []
    assert len(proxy.injected()) == attempts()  # bounded: 1 try + BRAINBUCKET_RETRIES


@pytest.mark.parametrize("kind", ["503", "drop", "reset"])
def test_exhausted_upload_leaves_old_object(
    kind: str,
    faulty_store: S3Store,
    direct_store: S3Store,
    proxy: FaultProxy,
    remote: str,
    tmp_path: Path,
) -> None:
    src = tmp_path / "new.nii.gz"
    src.write_bytes(b"new content")
    proxy.add(TRANSIENT[kind](method="PUT"))
    with pytest.raises(ServerError, match="after retries"):
        faulty_store.upload(src, remote)
    assert direct_store.read_bytes(remote) == DATA


def test_upload_with_nobody_listening_is_an_endpoint_error(
    root_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a failure to connect at all means a wrong or absent endpoint (exit 6, and a sync
    # stops at once); connections closed by a server that is there are ServerErrors above.
    from brainbucket.server import free_port

    monkeypatch.setenv("BRAINBUCKET_RETRIES", "1")
    store = open_store(root_url, endpoint_url=f"http://127.0.0.1:{free_port()}")
    src = tmp_path / "new.nii.gz"
    src.write_bytes(b"new content")
    with pytest.raises(EndpointError, match="cannot reach the endpoint"):
        store.upload(src, "new.nii.gz")
    with pytest.raises(EndpointError, match="cannot reach the endpoint"):
        asyncio.run(store.aupload(src, "new.nii.gz"))


def test_cli_reports_exhausted_retries_in_one_line(
    root_url: str,
    proxy: FaultProxy,
    remote: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from brainbucket.cli import run

    proxy.add(Fault("status", method="GET", code="SlowDown"))
    dest = tmp_path / "out.nii.gz"
    code = run(["cp", f"{root_url}/{remote}", str(dest), "--endpoint-url", proxy.url])
    err = capsys.readouterr().err
    assert code == ServerError.exit_code
    assert "Traceback" not in err
    assert err.startswith("error:")
    assert "hint:" in err
    assert not dest.exists()
    assert _leftovers(tmp_path) == []


# -- writes whose answer is lost --------------------------------------------------------------


def test_conditional_create_with_lost_answer_succeeds(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy
) -> None:
    # The server stores the object, the answer never comes back, the client retries and the
    # retry meets its own write: that is success, not a conflict.
    proxy.add(Fault("lose", method="PUT", first=1))
    result = faulty_store.write_bytes(".brainbucket/shard", b"content", if_none_match=True)
    assert result.sha256 == sha256_bytes(b"content")
    assert direct_store.read_bytes(".brainbucket/shard") == b"content"
    assert len(proxy.injected("lose")) == 1


def test_conditional_update_with_lost_answer_succeeds(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy
) -> None:
    old = direct_store.write_bytes("pointer", b"root-1")
    proxy.add(Fault("lose", method="PUT", first=1))
    result = faulty_store.write_bytes("pointer", b"root-2", if_match=old.etag)
    assert direct_store.read_bytes("pointer") == b"root-2"
    assert result.etag == direct_store.info("pointer").etag
    assert len(proxy.injected("lose")) == 1


def test_conditional_update_still_detects_real_conflicts(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy
) -> None:
    from brainbucket import ConflictError

    old = direct_store.write_bytes("pointer", b"root-1")
    direct_store.write_bytes("pointer", b"root-other")  # someone else moved it
    proxy.add(Fault("lose", method="PUT", first=1))
    with pytest.raises(ConflictError):
        faulty_store.write_bytes("pointer", b"root-2", if_match=old.etag)
    assert direct_store.read_bytes("pointer") == b"root-other"


# -- multipart uploads ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Just over the multipart threshold (64 MiB): five parts."""
    from brainbucket.store._s3 import MULTIPART_THRESHOLD

    path = tmp_path_factory.mktemp("big") / "big.nii.gz"
    block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB of non-repeating-ish bytes
    with open(path, "wb") as f:
        for i in range(MULTIPART_THRESHOLD // len(block) + 1):
            f.write(block[i % 32 :] + block[: i % 32])
    return path


@pytest.mark.slow
def test_multipart_upload_survives_part_faults(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy, big_file: Path, tmp_path: Path
) -> None:
    proxy.add(
        Fault("drop", method="PUT", path="partNumber=2", first=1),
        Fault(
            "status", method="PUT", path="partNumber=3", first=2, status=500, code="InternalError"
        ),
        Fault("status", method="POST", path="uploadId=", first=1),
    )
    faulty_store.upload(big_file, "big.nii.gz")
    assert len(proxy.injected()) == 4
    dest = tmp_path / "back.nii.gz"
    direct_store.download("big.nii.gz", dest)
    assert (
        hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(big_file.read_bytes()).digest()
    )
    assert direct_store.multipart_uploads() == []


def test_failed_multipart_upload_leaves_no_orphan(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy, big_file: Path
) -> None:
    proxy.add(Fault("drop", method="PUT", path="partNumber=3"))
    with pytest.raises(ServerError, match="closed before the server answered"):
        faulty_store.upload(big_file, "big.nii.gz")
    assert len(proxy.injected()) == attempts()
    assert direct_store.multipart_uploads() == []
    assert not direct_store.exists("big.nii.gz")


def test_listing_result_types_survive_faults(
    faulty_store: S3Store, proxy: FaultProxy, remote: str
) -> None:
    proxy.add(Fault("status", method="GET", path="list-type=2", every=2))
    _rows, total = faulty_store.du("")
    assert total.count == 1
    assert total.size == len(DATA)
    assert all(isinstance(o, ObjectInfo) for o in faulty_store.walk())
    assert proxy.injected()


def test_object_replaced_by_a_shorter_one_mid_read(
    faulty_store: S3Store, direct_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    """The read breaks off, the object is replaced meanwhile, the resumed read finds it shorter:
    a conflict naming the object, and nothing kept."""
    from brainbucket import ConflictError

    proxy.add(Fault("cut", method="GET", first=1, after_bytes=200_000, seconds=1.0))
    dest = tmp_path / "T1w.nii.gz"
    import threading

    swap = threading.Timer(0.5, lambda: direct_store.write_bytes(remote, b"short"))
    swap.start()
    try:
        with pytest.raises(ConflictError, match="changed while it was being read") as info:
            faulty_store.download(remote, dest)
    finally:
        swap.join()
    assert remote in str(info.value)
    assert _leftovers(tmp_path) == []
