"""The S3 server is killed and restarted (same data, same port) in the middle of a sync."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainbucket import open_store, sync
from brainbucket.server import LocalServer, free_port
from brainbucket.store import S3Store
from brainbucket.sync import verify
from cli_text import messages

from ._helpers import PART, THRESHOLD, make_study, start_sync, temporaries, tree_digests


@pytest.fixture
def own_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """A server of this test's own (the session's must stay up), with the environment on it."""
    server = LocalServer(tmp_path / "server", port=free_port())
    server.start()
    for k, v in server.env().items():
        monkeypatch.setenv(k, v)
    try:
        yield server
    finally:
        server.kill()  # its data is this test's alone; a restarted server can be slow to stop


def _restart(server: LocalServer) -> None:
    # The port can stay busy for a moment after a kill; the same port is the point here.
    deadline = time.monotonic() + 30
    while True:
        try:
            server.start()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _wait_for_objects(store: S3Store, child: object, n: int = 3) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:  # type: ignore[attr-defined]
        resp = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.key(""))
        if resp.get("KeyCount", 0) >= n:
            return
        time.sleep(0.02)


@pytest.mark.slow
def test_sync_fails_clearly_then_rerun_completes(own_server: LocalServer, tmp_path: Path) -> None:
    store = open_store("s3://restart/ds")
    assert isinstance(store, S3Store)
    store.create_bucket()
    src = make_study(tmp_path / "study", subjects=4)
    child = start_sync(str(src), "s3://restart/ds", jobs=2)
    _wait_for_objects(store, child)
    assert child.poll() is None, "the sync ended before the server was killed"
    own_server.kill()
    _out, err = child.communicate(timeout=180)
    text = err.decode()
    assert "Traceback" not in text
    if child.returncode != 0:
        # A clear brainbucket error: unreachable endpoint, server error or some files failed.
        assert child.returncode in (6, 10, 12), text
        assert text.split()[0].endswith("Error")
    _restart(own_server)
    rerun = sync(src, "s3://restart/ds", multipart_threshold=THRESHOLD, part_size=PART)
    assert rerun.ok, rerun.failed
    report = verify("s3://restart/ds", deep=True)
    assert report.ok, report.to_dict()
    assert store.multipart_uploads() == []
    down = tmp_path / "down"
    assert sync("s3://restart/ds", down).ok
    assert tree_digests(down) == tree_digests(src)


@pytest.mark.slow
def test_sync_through_a_restart_recovers_or_fails_clearly(
    own_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "20")  # ~2 min of backoff: outlasts a restart
    store = open_store("s3://restart2/ds")
    assert isinstance(store, S3Store)
    store.create_bucket()
    src = make_study(tmp_path / "study", subjects=4)
    child = start_sync(str(src), "s3://restart2/ds", jobs=2)
    _wait_for_objects(store, child)
    assert child.poll() is None, "the sync ended before the server was killed"
    own_server.kill()
    _restart(own_server)
    _out, err = child.communicate(timeout=300)
    # The sync either rides the restart out, or fails clearly (endpoint unreachable, exit
    # 6; server error, exit 10) when the server stays down longer than the data path's
    # connection retries last; then a re-run completes.
    assert child.returncode in (0, 6, 10), err.decode()[-2000:]
    if child.returncode != 0:
        assert b"Traceback" not in err
        assert sync(src, "s3://restart2/ds").ok
    report = verify("s3://restart2/ds", deep=True)
    assert report.ok, report.to_dict()
    assert store.multipart_uploads() == []


# -- riding through: the command waits for the server instead of failing --------------------


def _cli(*args: str, window: float) -> subprocess.Popen[bytes]:
    """The command line in a child process (same environment), riding out ``window`` s."""
    env = {**os.environ, "BRAINBUCKET_RETRY_WINDOW": f"{window:g}"}
    return subprocess.Popen(
        [sys.executable, "-m", "brainbucket", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _wait_for_files(folder: Path, child: subprocess.Popen[bytes], n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if sum(1 for p in folder.rglob("*") if p.is_file()) >= n:
            return
        time.sleep(0.01)


def _waiting_line(endpoint: str, window: int) -> str:
    return (
        f"brainbucket: waiting for {endpoint.rstrip('/')} (connection refused), "
        f"retrying for up to {window} s"
    )


@pytest.mark.slow
def test_upload_rides_through_a_restart(own_server: LocalServer, tmp_path: Path) -> None:
    store = open_store("s3://ride/up")
    assert isinstance(store, S3Store)
    store.create_bucket()
    src = make_study(tmp_path / "study", subjects=6)
    child = _cli("sync", str(src), "s3://ride/up", "--jobs", "1", window=60)
    _wait_for_objects(store, child)
    assert child.poll() is None, "the sync ended before the server was killed"
    endpoint = own_server.endpoint_url
    own_server.kill()
    time.sleep(3)  # down for longer than the clients' own retries last
    _restart(own_server)
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()[-2000:]
    assert _waiting_line(endpoint, 60) in messages(err)
    assert sum(line.startswith("brainbucket: waiting") for line in messages(err)) == 1
    report = verify("s3://ride/up", deep=True)
    assert report.ok, report.to_dict()
    assert store.multipart_uploads() == []
    down = tmp_path / "down"
    assert sync("s3://ride/up", down).ok
    assert tree_digests(down) == tree_digests(src)


@pytest.mark.slow
def test_download_rides_through_a_restart(own_server: LocalServer, tmp_path: Path) -> None:
    open_store("s3://ride").create_bucket()  # type: ignore[attr-defined]
    src = make_study(tmp_path / "study", subjects=8)
    assert sync(src, "s3://ride/down").ok
    down = tmp_path / "down"
    child = _cli("sync", "s3://ride/down", str(down), "--jobs", "1", "--fsync", window=60)
    _wait_for_files(down, child, 3)
    assert child.poll() is None, "the download ended before the server was killed"
    endpoint = own_server.endpoint_url
    own_server.kill()
    time.sleep(3)
    _restart(own_server)
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()[-2000:]
    assert _waiting_line(endpoint, 60) in messages(err)
    assert tree_digests(down) == tree_digests(src)
    assert temporaries(down) == []


@pytest.mark.slow
def test_a_server_down_for_longer_than_the_window_ends_clearly(
    own_server: LocalServer, tmp_path: Path
) -> None:
    store = open_store("s3://ride/gone")
    assert isinstance(store, S3Store)
    store.create_bucket()
    src = make_study(tmp_path / "study", subjects=6)
    # The option wins over the environment.
    child = _cli(
        "--retry-window", "4", "sync", str(src), "s3://ride/gone", "--jobs", "1", window=60
    )
    _wait_for_objects(store, child)
    assert child.poll() is None, "the sync ended before the server was killed"
    endpoint = own_server.endpoint_url
    own_server.kill()
    t0 = time.monotonic()
    _out, err = child.communicate(timeout=120)
    took = time.monotonic() - t0
    lines = messages(err)
    assert child.returncode == 6, err.decode()[-2000:]
    # Said once, when the waiting began; then the usual error, naming the endpoint.
    assert lines[0] == _waiting_line(endpoint, 4), lines
    assert lines[1].startswith("error: s3://ride/gone"), lines
    assert lines[1].endswith(f": cannot reach the endpoint {endpoint.rstrip('/')}")
    assert "Traceback" not in err.decode()
    # The window, plus the clients' own retries before it began and after it ended.
    assert 4 <= took < 25, took
    assert temporaries(src) == []


def test_the_first_connection_still_fails_fast(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from brainbucket.cli import run

    monkeypatch.setenv("BRAINBUCKET_RETRY_WINDOW", "60")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    port = free_port()
    t0 = time.monotonic()
    code = run(["ls", "s3://study", "--endpoint-url", f"http://127.0.0.1:{port}"])
    elapsed = time.monotonic() - t0
    assert code == 6
    assert messages(capsys.readouterr().err)[0] == (
        f"error: s3://study: cannot reach the endpoint http://127.0.0.1:{port} (connection refused)"
    )
    assert elapsed < 2.0
