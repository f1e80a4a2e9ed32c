"""A sync killed (SIGKILL) mid-upload and mid-download resumes and ends verified."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from brainbucket import open_store, read_manifest, sync, verify
from brainbucket._hashing import sha256_file
from brainbucket.store import S3Store

MiB = 1024 * 1024
SRC = str(Path(__file__).resolve().parents[2] / "src")

# The child syncs with small parts and kills itself with SIGKILL from its progress callback
# once enough bytes moved: a hard kill at a known point of a transfer, without timing.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from brainbucket import sync
    from brainbucket.sync import Callbacks

    class KillAfter(Callbacks):
        def __init__(self, limit):
            self.moved, self.limit = 0, limit
        def on_progress(self, action, nbytes):
            self.moved += nbytes
            if self.moved >= self.limit:
                os.kill(os.getpid(), signal.SIGKILL)

    src, dst, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sync(src, dst, callbacks=KillAfter(limit), jobs=1,
         multipart_threshold=5 * 1024 * 1024, part_size=5 * 1024 * 1024)
    """
)


def _run_child(src: str, dst: str, kill_after: int) -> int:
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, src, dst, str(kill_after)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode


@pytest.mark.usefixtures("s3_env")
def test_killed_upload_resumes_from_its_parts(bucket: str, tmp_path: Path, state_dir: Path) -> None:
    src = tmp_path / "src"
    (src / "sub-01").mkdir(parents=True)
    big = src / "sub-01" / "big.bin"
    big.write_bytes(os.urandom(23 * MiB))
    url = f"s3://{bucket}"
    code = _run_child(str(src), url, kill_after=6 * MiB)
    assert code == -signal.SIGKILL
    store = open_store(url)
    assert isinstance(store, S3Store)
    pending = store.multipart_uploads()
    assert len(pending) == 1  # the interrupted upload, kept for resuming
    states = list((state_dir / "uploads").glob("*.json"))
    assert len(states) == 1
    saved = json.loads(states[0].read_text())
    assert saved["upload_id"] == pending[0][1]
    assert len(saved["parts"]) >= 1
    assert read_manifest(store) is None  # nothing recorded for a file that is not there
    assert not store.exists("sub-01/big.bin")

    r = sync(src, url, multipart_threshold=5 * MiB, part_size=5 * MiB)
    assert r.transferred == 1
    assert store.multipart_uploads() == []
    assert not list((state_dir / "uploads").glob("*.json"))
    info = store.info("sub-01/big.bin")
    assert info.etag is not None
    assert info.etag.endswith("-5")  # completed from the same multipart upload's parts
    assert verify(url, deep=True).ok
    m = read_manifest(store)
    assert m is not None
    assert m["sub-01/big.bin"].sha256 == sha256_file(big)


@pytest.mark.usefixtures("s3_env")
def test_killed_download_resumes_by_range(bucket: str, tmp_path: Path, state_dir: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.bin").write_bytes(os.urandom(17 * MiB))
    (src / "small.txt").write_bytes(b"small")
    url = f"s3://{bucket}"
    sync(src, url, multipart_threshold=5 * MiB, part_size=5 * MiB)
    down = tmp_path / "down"
    code = _run_child(url, str(down), kill_after=3 * MiB)
    assert code == -signal.SIGKILL
    partial = down / ".big.bin.resume.bbpart"
    assert partial.exists()
    kept = partial.stat().st_size
    assert 0 < kept < 17 * MiB
    assert not (down / "big.bin").exists()  # never a partial file under the real name

    r = sync(url, down, multipart_threshold=5 * MiB)
    assert r.ok
    assert sha256_file(down / "big.bin") == sha256_file(src / "big.bin")
    assert not partial.exists()
    assert not [p for p in down.rglob("*.bbpart")]
    assert verify(down).ok


@pytest.mark.usefixtures("s3_env")
def test_ctrl_c_exits_130_and_rerun_finishes(bucket: str, tmp_path: Path) -> None:
    import time

    from brainbucket._hashing import TMP_SUFFIX

    src = tmp_path / "src"
    for i in range(1500):
        p = src / f"sub-{i % 10:02d}" / f"f{i:04d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(2048))
    url = f"s3://{bucket}"
    sync(src, url)
    down = tmp_path / "down"
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-m", "brainbucket", "sync", url, str(down)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Interrupt as soon as the first file has landed: mid-transfer, whatever the machine's speed.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(p.is_file() for p in down.rglob("f*.txt")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    landed = [p for p in down.rglob("*") if p.is_file() and ".brainbucket" not in p.parts]
    if proc.returncode == 0:  # pragma: no cover - it finished before the signal arrived
        pytest.fail("the download finished before it could be interrupted; make it larger")
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    for p in landed:
        if not p.name.endswith(TMP_SUFFIX):
            rel = p.relative_to(down)
            assert p.read_bytes() == (src / rel).read_bytes()  # never a partial file
    r = sync(url, down)
    assert r.ok
    assert verify(down).ok
