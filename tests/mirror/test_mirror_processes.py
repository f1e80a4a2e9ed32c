"""Several processes share one cache: each object is downloaded once, every file complete
and verified; a process killed mid-download never leaves a file a later call returns."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainbucket import BrainbucketError, Callbacks, Mirror

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A worker: wait for the start signal, ask for the files, log each actual download.
WORKER = r"""
import json, os, sys, time, hashlib
from pathlib import Path
from brainbucket import Callbacks, Mirror
url, cache, log, go, lock_timeout = sys.argv[1:6]
class Log(Callbacks):
    def on_done(self, key, error):
        if error is None:
            with open(log, "a") as f:
                f.write(json.dumps([os.getpid(), key]) + "\n")
    # Slow each chunk down so that downloads of the same file in different processes overlap.
    def on_progress(self, key, n):
        time.sleep(0.05)
m = Mirror(url, cache_dir=cache, callbacks=Log(), jobs=4, lock_timeout=float(lock_timeout))
_ = m.study  # list first, so the downloads themselves start together
open(go + f".ready-{os.getpid()}", "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
paths = m.files(subject="01")
out = {p.relative_to(m.root / "files").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
print(json.dumps(out))
"""

# A fetch that reports its first chunk, then hangs until killed.
HANGER = r"""
import sys, time
from brainbucket import Callbacks, Mirror
url, cache, key = sys.argv[1:4]
class Hang(Callbacks):
    def on_progress(self, key, n):
        print("started", flush=True)
        time.sleep(600)
Mirror(url, cache_dir=cache, callbacks=Hang()).path(key)
"""


class _Fetched(Callbacks[str]):
    """Keys of the files downloaded."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def on_done(self, key: str, error: BrainbucketError | None) -> None:
        if error is None:
            self.into.append(key)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def big_subject(remote) -> dict[str, bytes]:
    """Add a few multi-MiB files to sub-01, so downloads take long enough to overlap."""
    files = {}
    for i in range(3):
        key = f"sub-01/ses-01/dwi/sub-01_ses-01_acq-big{i}_dwi.nii.gz"
        data = os.urandom(3 * 1024 * 1024 + i)
        remote.store.write_bytes(key, data)
        files[key] = data
    return files


def _run_workers(
    remote, cache: Path, tmp_path: Path, lock_timeout: str
) -> tuple[list[dict], list[str]]:
    """Four processes ask for sub-01's files at the same moment; their answers, and the keys
    actually downloaded (all processes together)."""
    log = tmp_path / "downloads.log"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, remote.url, str(cache), str(log), str(go), lock_timeout],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        for _ in range(4)
    ]
    deadline = time.monotonic() + 240
    while len(list(tmp_path.glob("go.ready-*"))) < len(procs):  # a barrier: all are ready
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in procs), "a worker died early"
        time.sleep(0.02)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    downloads = [json.loads(line)[1] for line in log.read_text().splitlines()]
    return results, downloads


def _expected(remote, big_subject) -> dict[str, str]:
    keys = sorted(
        [k for k in remote.keys if k.startswith(("sub-01/", "derivatives/dmriprep/sub-01/"))]
        + list(big_subject)
    )
    return {
        k: hashlib.sha256(big_subject.get(k) or (remote.local / k).read_bytes()).hexdigest()
        for k in keys
    }


def test_four_processes_download_each_object_once(
    remote, big_subject, cache: Path, tmp_path: Path
) -> None:
    results, downloads = _run_workers(remote, cache, tmp_path, lock_timeout="900")
    expected = _expected(remote, big_subject)
    for r in results:
        assert r == expected  # every process got every file, complete and verified
    assert sorted(downloads) == sorted(expected)  # each object downloaded exactly once in all


def test_without_locks_every_file_is_still_complete(
    remote, big_subject, cache: Path, tmp_path: Path
) -> None:
    """Where locks do not hold (lock_timeout=0: never wait), files may be downloaded twice,
    but every process still gets complete, verified files and the cache stays consistent."""
    results, downloads = _run_workers(remote, cache, tmp_path, lock_timeout="0")
    expected = _expected(remote, big_subject)
    for r in results:
        assert r == expected
    assert set(downloads) == set(expected)
    assert not list(cache.rglob("*.bbpart"))
    # Whatever order the writers' renames and records landed in, a later call gets complete,
    # verified files (re-fetching any whose record lost the race).
    again = Mirror(remote.url, cache_dir=cache)
    got = {
        p.relative_to(again.root / "files").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in again.files(subject="01")
    }
    assert got == expected


def test_sigkill_mid_download_leaves_nothing_returnable(remote, big_subject, cache: Path) -> None:
    key = next(iter(big_subject))
    with subprocess.Popen(
        [sys.executable, "-c", HANGER, remote.url, str(cache), key],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    m = Mirror(remote.url, cache_dir=cache)
    final = m.root / "files" / key
    assert not final.exists()
    partial = list(final.parent.glob("*.bbpart"))
    assert len(partial) == 1
    assert partial[0].stat().st_size < len(big_subject[key])
    # a later call does not return the partial file: it fetches a complete, verified one
    fetched: list[str] = []
    m2 = Mirror(remote.url, cache_dir=cache, callbacks=_Fetched(fetched))
    assert m2.path(key).read_bytes() == big_subject[key]
    assert fetched == [key]
    # the dead process's temporary file is left for gc, which removes it once it is stale
    old = time.time() - 2 * 3600
    os.utime(partial[0], (old, old))
    report = m2.gc(max_size=10**12)
    assert report.temp_removed == 1
    assert not partial[0].exists()
    assert m2.path(key).read_bytes() == big_subject[key]
