"""One server per data folder, and no server without its parent.

A second ``serve`` on a folder in use is refused in one line (exit 13) before anything in the
folder is written; a server whose Python parent is killed stops too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainbucket import ServeError
from brainbucket.server import LocalServer
from brainbucket.server._guard import DataLock, startup_failure


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file and folder below ``folder``: size, mtime and (for files) content."""
    out: dict[str, tuple[int, int, bytes]] = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        body = p.read_bytes() if p.is_file() else b""
        out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns, body)
    return out


def _masters(folder: Path) -> set[str]:
    return {p.name for p in (folder / "data").iterdir() if re.fullmatch(r"m\d+", p.name)}


def _serve(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brainbucket", "serve", "--data", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[LocalServer]:
    server = LocalServer(tmp_path / "srv")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_second_serve_is_refused_in_one_line(running: LocalServer) -> None:
    folder = running.data_dir
    kept = {
        name: (folder / name).read_bytes()
        for name in ("identities.json", "s3-identities.json", "server.lock")
    }
    # A SeaweedFS started on the folder makes a master folder named after its port.
    masters = _masters(folder)
    done = _serve(folder)
    assert done.returncode == 13
    assert done.stderr.splitlines() == [
        f"error: the data folder {folder} is in use by a running server "
        f"(pid {os.getpid()}, {running.endpoint_url})",
        f"hint: stop it first (Ctrl-C where it runs, or `kill {os.getpid()}`), or serve another "
        "folder with --data DIR",
    ]
    assert "goroutine" not in done.stderr
    assert done.stdout == ""
    # The running server's identities, options and lock are as they were, and no second
    # SeaweedFS left anything in its folder; it still answers.
    assert {name: (folder / name).read_bytes() for name in kept} == kept
    assert _masters(folder) == masters
    assert running.running
    assert running._signed_probe()


def test_nothing_in_the_folder_is_touched(tmp_path: Path) -> None:
    folder = tmp_path / "srv"
    LocalServer(folder)  # identities made, as a first start leaves them
    holder = DataLock(folder)
    holder.acquire()  # as a running server holds it
    holder.note("http://127.0.0.1:9")
    before = _snapshot(folder)
    time.sleep(0.01)  # a write would show in the mtimes
    try:
        with pytest.raises(ServeError) as err:
            LocalServer(folder).start()
        assert str(err.value) == (
            f"the data folder {folder} is in use by a running server "
            f"(pid {os.getpid()}, http://127.0.0.1:9)"
        )
        assert err.value.exit_code == 13
        assert _snapshot(folder) == before
    finally:
        holder.release()
    # Once the holder is gone, the folder may be served again.
    again = DataLock(folder)
    again.acquire()
    again.release()


_PARENT = textwrap.dedent(
    """
    import sys, time
    from brainbucket.server import LocalServer
    server = LocalServer(sys.argv[1])
    server.start()
    print(server.proc.pid, flush=True)
    time.sleep(600)
    """
)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie nobody reaped has stopped all the same


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_server_dies_with_its_python_parent(tmp_path: Path, sig: signal.Signals) -> None:
    folder = tmp_path / "srv"
    weed = 0
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as parent:
        try:
            assert parent.stdout is not None
            weed = int(parent.stdout.readline())
            assert not _gone(weed)
            parent.send_signal(sig)
            parent.wait(10)
            deadline = time.monotonic() + 20
            while not _gone(weed) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _gone(weed), "the SeaweedFS server outlived its parent"
        finally:
            if parent.poll() is None:
                parent.kill()
            if weed and not _gone(weed):
                os.kill(weed, signal.SIGKILL)
    # The dead parent's lock went with it.
    lock = DataLock(folder)
    lock.acquire()
    lock.release()


def test_a_start_up_failure_gives_the_reason_not_a_stack(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("old run\nF1206 05:00:00.000001 old.go:1 an old failure\n")
    start = log.stat().st_size
    with open(log, "a") as f:
        f.write(
            "I1206 05:49:56.350000 mini.go:10 starting\n"
            "F1206 05:49:56.355141 configuration.go:26 failed to initialize store for "
            "leveldb2: resource temporarily unavailable\n"
            "goroutine 231 [running]:\n"
            "github.com/seaweedfs/seaweedfs/weed/glog.stacks(0x0)\n"
            "\tgithub.com/seaweedfs/seaweedfs/weed/glog/glog.go:832 +0x85\n"
        )
    assert startup_failure(log, start) == (
        "failed to initialize store for leveldb2: resource temporarily unavailable"
    )
