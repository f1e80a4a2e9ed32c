"""The direct download path: plain HTTP/1.1 GETs of presigned URLs (``store/_http/_direct.py``).

Two kinds of server: SeaweedFS behind the fault proxy, for what S3 really answers; and a
scripted HTTP server, for answers SeaweedFS never gives (chunked bodies, no length, keep-alive
connections closed while idle, a read continued where it broke off) so every branch of the
answer reader meets the real bytes it is written for.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from pathlib import Path

import pytest

from brainbucket import ConflictError, EndpointError, IntegrityError, ServerError, open_store
from brainbucket._hashing import TMP_SUFFIX, sha256_bytes
from brainbucket._types import Expected
from brainbucket.store import Route, S3Store
from brainbucket.store._http import DirectGet, proxied

from .proxy import Fault, FaultProxy
from .scripted import ScriptedServer

DATA = os.urandom(3_000_000) + b"end"


def _getter(server: ScriptedServer) -> DirectGet:
    return DirectGet(
        lambda key, _: f"http://127.0.0.1:{server.port}/bucket/{key}?X-Amz-Signature=x"
    )


def _fetch(server: ScriptedServer, dest: Path, **kw: object) -> tuple[str, int]:
    checks: dict[str, object] = {
        "what": "s3://bucket/key",
        "expected": Expected(size=len(DATA), sha256=sha256_bytes(DATA)),
        "keep_mtime": False,
        "progress": None,
    }
    checks.update(kw)
    return _getter(server).fetch("key", dest, **checks)  # type: ignore[arg-type]


def _ok(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    head = f'HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nETag: "abc"\r\n{extra}\r\n'
    return head.encode() + body


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob(f"*{TMP_SUFFIX}")], "a temporary file was left behind"


# -- answers SeaweedFS does not give -----------------------------------------------------------


def test_chunked_answer_with_trailer(scripted, tmp_path: Path) -> None:
    def script(n: int, headers: dict[str, str]) -> bytes:
        pieces = [DATA[i : i + 700_001] for i in range(0, len(DATA), 700_001)]
        body = b"".join(f"{len(p):x};ext=1\r\n".encode() + p + b"\r\n" for p in pieces)
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + body + b"0\r\nX-Trailer: yes\r\n\r\n"

    server = scripted(script)
    dest = tmp_path / "a.nii.gz"
    assert _fetch(server, dest) == (sha256_bytes(DATA), len(DATA))
    assert dest.read_bytes() == DATA


def test_answer_without_length_runs_to_the_close(scripted, tmp_path: Path) -> None:
    server = scripted(lambda n, h: b"HTTP/1.1 200 OK\r\n\r\n" + DATA, close_after=True)
    dest = tmp_path / "a.nii.gz"
    assert _fetch(server, dest)[0] == sha256_bytes(DATA)
    # And with the size unknown to the caller, the digest still decides.
    dest2 = tmp_path / "b.nii.gz"
    assert _fetch(server, dest2, expected=Expected(sha256=sha256_bytes(DATA)))[1] == len(DATA)


def test_idle_connection_closed_by_the_server_costs_no_retry(
    scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server closes every connection after one answer, without saying so: the second
    # download finds its kept-alive connection dead and must reconnect at once, spending
    # none of the retry budget (zero here).
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "0")
    server = scripted(lambda n, h: _ok(DATA), close_after=True)
    getter = _getter(server)
    for name in ("a", "b", "c"):
        digest, _ = getter.fetch(
            "key",
            tmp_path / name,
            what="s3://bucket/key",
            expected=Expected(size=len(DATA), sha256=sha256_bytes(DATA)),
            keep_mtime=False,
            progress=None,
        )
        assert digest == sha256_bytes(DATA)
    assert server.connections == 3


def test_broken_off_answer_continues_by_range_pinned_to_the_etag(scripted, tmp_path: Path) -> None:
    cut = 1_234_567

    def script(n: int, headers: dict[str, str]) -> bytes | None:
        if n == 1:  # announce everything, send a part, hang up
            return _ok(DATA)[: len(_ok(DATA)) - len(DATA) + cut]
        start = int(headers["range"].removeprefix("bytes=").rstrip("-"))
        rest = DATA[start:]
        extra = f"Content-Range: bytes {start}-{len(DATA) - 1}/{len(DATA)}\r\n"
        return _ok(rest, "206 Partial Content", extra)

    server = scripted(script, close_after=True)
    dest = tmp_path / "a.nii.gz"
    got: list[int] = []
    assert _fetch(server, dest, progress=got.append)[0] == sha256_bytes(DATA)
    assert dest.read_bytes() == DATA
    assert server.seen[1]["range"] == f"bytes={cut}-"
    assert server.seen[1]["if-match"] == '"abc"'
    assert sum(got) == len(DATA), "bytes were counted twice or lost"


def test_object_replaced_mid_read_is_a_conflict_and_leaves_nothing(
    scripted, tmp_path: Path
) -> None:
    def script(n: int, headers: dict[str, str]) -> bytes:
        if n == 1:
            return _ok(DATA)[: len(_ok(DATA)) - len(DATA) + 1000]
        return _ok(b"<Error><Code>PreconditionFailed</Code></Error>", "412 Precondition Failed")

    server = scripted(script, close_after=True)
    dest = tmp_path / "a.nii.gz"
    with pytest.raises(ConflictError, match="changed while it was being read"):
        _fetch(server, dest)
    assert list(tmp_path.iterdir()) == []


def test_server_ignoring_the_range_is_refused(scripted, tmp_path: Path) -> None:
    def script(n: int, headers: dict[str, str]) -> bytes:
        full = _ok(DATA)
        return full[: len(full) - len(DATA) + 1000] if n == 1 else full

    server = scripted(script, close_after=True)
    with pytest.raises(ConflictError, match="did not continue"):
        _fetch(server, tmp_path / "a.nii.gz")
    assert list(tmp_path.iterdir()) == []


def test_wrong_bytes_are_refused(scripted, tmp_path: Path) -> None:
    bad = bytearray(DATA)
    bad[len(bad) // 2] ^= 1
    server = scripted(lambda n, h: _ok(bytes(bad)))
    dest = tmp_path / "a.nii.gz"
    dest.write_bytes(b"old good copy")
    with pytest.raises(IntegrityError):
        _fetch(server, dest)
    assert dest.read_bytes() == b"old good copy"
    _no_temp_files(tmp_path)


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_closed_before_any_answer_is_a_server_error(
    reset: bool, scripted, tmp_path: Path, monkeypatch
) -> None:
    # The server is there (it accepts every connection) but never answers: not a wrong
    # endpoint, so not an EndpointError, which would stop a whole sync.
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "2")
    server = scripted(lambda n, h: None, reset=reset)
    dest = tmp_path / "a"
    with pytest.raises(ServerError, match="closed before the server answered, after retries"):
        _fetch(server, dest)
    assert server.connections == 3  # one try and two retries, each on a new connection
    assert not dest.exists()
    _no_temp_files(tmp_path)


def test_nobody_listening_is_an_endpoint_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "1")
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    getter = DirectGet(lambda key, _: f"http://127.0.0.1:{port}/b/{key}?x=1")
    with pytest.raises(EndpointError, match="cannot reach"):
        getter.fetch(
            "key",
            tmp_path / "a",
            what="s3://b/key",
            expected=Expected(),
            keep_mtime=False,
            progress=None,
        )
    assert list(tmp_path.iterdir()) == []


# -- against the S3 server ---------------------------------------------------------------------


@pytest.fixture
def remote(direct_store: S3Store) -> str:
    direct_store.write_bytes("sub-01/dwi/sub-01_dwi.nii.gz", DATA)
    return "sub-01/dwi/sub-01_dwi.nii.gz"


def test_s3_download_takes_the_direct_path(
    faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    assert faulty_store.route(Expected(size=len(DATA))) is Route.THREAD
    dest = tmp_path / "dwi.nii.gz"
    assert faulty_store.download(remote, dest) == sha256_bytes(DATA)
    (record,) = [r for r in proxy.records if r.method == "GET"]
    assert "X-Amz-Signature=" in record.target, "the GET was not a presigned URL"


def test_cancelled_download_ends_at_once_and_leaves_nothing(
    faulty_store: S3Store, proxy: FaultProxy, remote: str, tmp_path: Path
) -> None:
    # The answer stalls for a minute; cancelling the task must not wait for it.
    proxy.add(Fault("stall", method="GET", seconds=60))
    dest = tmp_path / "dwi.nii.gz"

    async def main() -> float:
        task = asyncio.create_task(faulty_store.adownload(remote, dest))
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - t0

    t0 = time.monotonic()
    assert asyncio.run(main()) < 1.0
    assert time.monotonic() - t0 < 10, "the worker thread kept the loop from closing"
    assert proxy.injected("stall")
    assert list(tmp_path.iterdir()) == []


def test_version_downloads_take_the_direct_path_and_proxies_keep_obstores(
    faulty_store: S3Store,
    proxy: FaultProxy,
    direct_store: S3Store,
    remote: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A read pinned to a version signs its own URL with versionId among the signed
    # parameters: it takes the fast path, and gets that version after an overwrite.
    version = direct_store.info(remote).version_id
    assert version
    direct_store.write_bytes(remote, b"a newer version")
    pinned = Expected(size=len(DATA), version_id=version)
    assert faulty_store.route(pinned) is Route.THREAD
    dest = tmp_path / "v.nii.gz"
    assert faulty_store.download(remote, dest, pinned) == sha256_bytes(DATA)
    assert dest.read_bytes() == DATA
    (record,) = [r for r in proxy.records if r.method == "GET"]
    assert f"versionId={version}" in record.target
    assert "X-Amz-Signature=" in record.target

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert proxied("http://127.0.0.1:8333/b/k")
    assert not proxied("https://127.0.0.1:8333/b/k")
    fresh = open_store(direct_store.describe())
    assert isinstance(fresh, S3Store)
    assert fresh.route(Expected(size=len(DATA))) is Route.STREAM
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert not proxied("http://127.0.0.1:8333/b/k")


def test_fsync_setting_flushes_each_file(
    direct_store: S3Store, remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        flushed.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    direct_store.download(remote, tmp_path / "a")
    assert flushed == []
    monkeypatch.setenv("BRAINBUCKET_FSYNC", "1")
    direct_store.download(remote, tmp_path / "b")
    assert len(flushed) == 1
    assert hashlib.sha256((tmp_path / "b").read_bytes()).hexdigest() == sha256_bytes(DATA)[7:]
