"""SIGKILL a sync at chosen points, re-run it, and check nothing was lost or left behind.

Kill points are made exact with the fault proxy: the child's sync goes through it, one
request of the chosen kind is held, and the child is killed while it waits for the answer.
The re-run is what a user does: the same command again (through the same endpoint).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from brainbucket import open_store, sync
from brainbucket.store import S3Store
from brainbucket.sync import verify

from ._helpers import (
    PART,
    THRESHOLD,
    kill_after,
    kill_at,
    make_study,
    start_sync,
    temporaries,
    tree_digests,
)
from .proxy import Fault, FaultProxy

HOLD = 120.0  # longer than any test: the child is killed while it waits

UPLOAD_KILL_POINTS = {
    # name: (fault, slow)
    "first-data-put": (Fault("stall", method="PUT", path=r"/sub-0\d/", nth=1, seconds=HOLD), True),
    "multipart-part-2": (Fault("stall", method="PUT", path="partNumber=2", seconds=HOLD), True),
    "multipart-created-answer-lost": (
        Fault("hold", method="POST", path=r"\?uploads", seconds=HOLD),
        False,
    ),
    "multipart-complete": (Fault("hold", method="POST", path="uploadId=", seconds=HOLD), True),
    "manifest-shard": (
        Fault("stall", method="PUT", path=r"\.brainbucket/(?!HEAD)", nth=1, seconds=HOLD),
        True,
    ),
    "pointer-before-move": (
        Fault("stall", method="PUT", path=r"\.brainbucket/HEAD", seconds=HOLD),
        True,
    ),
    "pointer-moved-answer-lost": (
        Fault("hold", method="PUT", path=r"\.brainbucket/HEAD", seconds=HOLD),
        False,
    ),
}


def _kw(proxy: FaultProxy) -> dict[str, object]:
    return {"endpoint_url": proxy.url, "multipart_threshold": THRESHOLD, "part_size": PART}


def _check_bucket(root_url: str, src: Path, tmp_path: Path) -> None:
    """The bucket holds exactly the source, verified, with no unfinished multipart upload."""
    report = verify(root_url, deep=True)
    assert report.ok, report.to_dict()
    assert report.checked == len(tree_digests(src))
    store = open_store(root_url)
    assert isinstance(store, S3Store)
    assert store.multipart_uploads() == []
    down = tmp_path / "check-down"
    sync(root_url, down)
    assert tree_digests(down) == tree_digests(src)


def _upload_kill(point: str, proxy: FaultProxy, root_url: str, tmp_path: Path) -> None:
    src = make_study(tmp_path / "study")
    fault, _ = UPLOAD_KILL_POINTS[point]
    proxy.add(fault)
    child = start_sync(str(src), root_url, endpoint_url=proxy.url)
    kill_at(proxy, fault.action, child)
    proxy.clear()
    rerun = sync(src, root_url, **_kw(proxy))
    assert rerun.ok, rerun.failed
    _check_bucket(root_url, src, tmp_path)


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(name, marks=[pytest.mark.slow] if slow else [])
        for name, (_, slow) in UPLOAD_KILL_POINTS.items()
    ],
)
def test_upload_killed_then_rerun(
    point: str, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    _upload_kill(point, proxy, root_url, tmp_path)


@pytest.mark.slow
def test_second_upload_killed_after_pointer_moved(
    proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    src = make_study(tmp_path / "study", big=False)
    assert sync(src, root_url, endpoint_url=proxy.url).ok
    (src / "README").write_text("changed after the first upload\n")
    (src / "sub-01" / "notes.txt").write_text("new file\n")
    fault = Fault("hold", method="PUT", path=r"\.brainbucket/HEAD", seconds=HOLD)
    proxy.add(fault)
    child = start_sync(str(src), root_url, endpoint_url=proxy.url)
    kill_at(proxy, "hold", child)
    proxy.clear()
    rerun = sync(src, root_url, endpoint_url=proxy.url)
    assert rerun.ok
    assert rerun.transferred == 0  # everything had landed; only the answer was lost
    _check_bucket(root_url, src, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_upload_killed_at_random_time(seed: int, root_url: str, tmp_path: Path) -> None:
    src = make_study(tmp_path / "study")
    child = start_sync(str(src), root_url)
    kill_after(child, random.Random(seed).uniform(0.3, 4.0))
    rerun = sync(src, root_url, multipart_threshold=THRESHOLD, part_size=PART)
    assert rerun.ok, rerun.failed
    _check_bucket(root_url, src, tmp_path)


# -- downloads --------------------------------------------------------------------------------


@pytest.fixture
def uploaded(root_url: str, tmp_path: Path) -> Path:
    """A study already uploaded (directly); its local source folder."""
    src = make_study(tmp_path / "study")
    assert sync(src, root_url, multipart_threshold=THRESHOLD, part_size=PART).ok
    return src


DOWNLOAD_KILL_POINTS = {
    "first-data-get": (Fault("stall", method="GET", path=r"/sub-0\d/", nth=1, seconds=HOLD), True),
    "big-file-midway": (
        Fault("cut", method="GET", path="desc-big", after_bytes=3 * 1024 * 1024, seconds=HOLD),
        False,
    ),
    "small-file-midway": (
        Fault("cut", method="GET", path=r"_dwi\.nii\.gz", nth=1, after_bytes=10_000, seconds=HOLD),
        True,
    ),
}


def _no_unverified_file(dest: Path, src: Path) -> None:
    """Every file under a real name is complete and correct; only temporaries may be partial."""
    want = tree_digests(src)
    for rel, digest in tree_digests(dest).items():
        assert want.get(rel) == digest, f"{rel} is under its real name but not the source's bytes"


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(name, marks=[pytest.mark.slow] if slow else [])
        for name, (_, slow) in DOWNLOAD_KILL_POINTS.items()
    ],
)
def test_download_killed_then_rerun(
    point: str, uploaded: Path, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "down"
    fault, _ = DOWNLOAD_KILL_POINTS[point]
    proxy.add(fault)
    child = start_sync(root_url, str(dest), endpoint_url=proxy.url)
    kill_at(proxy, fault.action, child, settle=1.5 if fault.action == "cut" else 0.0)
    if dest.exists():
        _no_unverified_file(dest, uploaded)
    proxy.clear()
    rerun = sync(root_url, dest, **_kw(proxy))
    assert rerun.ok, rerun.failed
    assert tree_digests(dest) == tree_digests(uploaded)
    assert verify(dest).ok


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_download_killed_at_random_time(
    seed: int, uploaded: Path, root_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "down"
    child = start_sync(root_url, str(dest), jobs=2)
    kill_after(child, random.Random(seed).uniform(0.3, 3.0))
    if dest.exists():
        _no_unverified_file(dest, uploaded)
    rerun = sync(root_url, dest, multipart_threshold=THRESHOLD, part_size=PART)
    assert rerun.ok, rerun.failed
    assert tree_digests(dest) == tree_digests(uploaded)
    assert verify(dest).ok


@pytest.mark.slow
def test_download_rerun_after_kill_leaves_only_hidden_temporaries(
    uploaded: Path, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    """A killed download's temporary file is never taken for data.

    The re-run finishes every file; what the killed process was writing stays behind as a
    hidden ``.NAME.XXXX.bbpart`` (another process may still be writing its own), which scans,
    syncs and ``verify`` ignore. A resumable partial (``.resume.bbpart``) is consumed.
    """
    dest = tmp_path / "down"
    fault = Fault(
        "cut", method="GET", path=r"_dwi\.nii\.gz", nth=1, after_bytes=10_000, seconds=HOLD
    )
    proxy.add(fault)
    kill_at(proxy, "cut", start_sync(root_url, str(dest), endpoint_url=proxy.url), settle=1.5)
    left = temporaries(dest)
    assert left, "the kill point should leave the killed writer's temporary file"
    proxy.clear()
    assert sync(root_url, dest, **_kw(proxy)).ok
    assert tree_digests(dest) == tree_digests(uploaded)
    assert all(p.name.startswith(".") for p in temporaries(dest))
    assert not [p for p in temporaries(dest) if p.name.endswith(".resume.bbpart")]
    report = verify(dest)
    assert report.ok
    assert report.untracked == []
    # An upload from that folder does not carry the temporaries along.
    again = tmp_path / "again"
    assert sync(dest, f"{root_url}-copy").ok
    assert sync(f"{root_url}-copy", again).ok
    assert temporaries(again) == []


def test_ctrl_c_during_a_download_sync(
    uploaded: Path, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    """SIGINT (Ctrl-C): exit 130 with a one-line note, nothing partial under a real name."""
    import os
    import signal
    import subprocess
    import sys
    import time

    dest = tmp_path / "down"
    proxy.add(Fault("cut", method="GET", path="desc-big", after_bytes=2_000_000, seconds=HOLD))
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brainbucket",
            "sync",
            root_url,
            str(dest),
            "--quiet",
            "--endpoint-url",
            proxy.url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell may start test runs with SIGINT ignored, which children inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 90
    while not proxy.injected("cut") and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    time.sleep(1.5)
    os.kill(child.pid, signal.SIGINT)
    try:
        _out, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        pytest.fail("the sync did not stop on Ctrl-C")
    assert child.returncode == 130, err.decode()[-1500:]
    assert "interrupted" in err.decode()
    assert "Traceback" not in err.decode()
    _no_unverified_file(dest, uploaded)
    proxy.clear()
    assert sync(root_url, dest, **_kw(proxy)).ok
    assert tree_digests(dest) == tree_digests(uploaded)


# -- Ctrl-C during an upload ------------------------------------------------------------------

STALL = 20.0  # how long a part "on a slow uplink" takes: far longer than Ctrl-C may


def test_ctrl_c_during_a_multipart_upload_exits_within_a_second_and_resumes(
    proxy: FaultProxy, root_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Ctrl-C (SIGINT to `brainbucket sync`) while parts are in flight on a slow link:
    the command is gone within a second (exit 130), and its re-run sends only the parts that
    had not finished."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from brainbucket.store import PART_SIZE, RESUME_THRESHOLD

    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))
    src = make_study(tmp_path / "study", big=False)
    big = src / "sub-01" / "ses-01" / "dwi" / "sub-01_ses-01_desc-large_dwi.nii.gz"
    with open(big, "wb") as f:  # five parts through the command line's own thresholds
        for _ in range((RESUME_THRESHOLD + PART_SIZE) // 2**20):
            f.write(os.urandom(2**20))
    # Parts 1 and 2 go through; later parts hang as on a slow uplink.
    proxy.add(Fault("stall", method="PUT", path=r"partNumber=[3-9]", seconds=STALL))
    args = [sys.executable, "-m", "brainbucket", "sync", str(src), root_url, "--quiet"]
    child = subprocess.Popen(
        [*args, "--endpoint-url", proxy.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # A shell may start test runs with SIGINT ignored, which children inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    uploads = tmp_path / "cache" / "state" / "uploads"

    def parts_recorded() -> int:
        for state in uploads.glob("*.json") if uploads.is_dir() else ():
            try:
                return len(json.loads(state.read_text())["parts"])
            except (OSError, ValueError):
                pass
        return 0

    deadline = time.monotonic() + 90
    while not (proxy.injected("stall") and parts_recorded() >= 2):
        assert time.monotonic() < deadline, "the upload never reached its third part"
        assert child.poll() is None, child.communicate()[1].decode()[-1500:]
        time.sleep(0.02)
    t0 = time.monotonic()
    os.kill(child.pid, signal.SIGINT)
    try:
        _out, err = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        pytest.fail("the sync did not stop on Ctrl-C")
    elapsed = time.monotonic() - t0
    assert child.returncode == 130, err.decode()[-1500:]
    assert err.decode().splitlines()[0] == (
        "interrupted: no partial file was left under a real name; re-run to resume"
    )
    assert elapsed < 1.0, f"Ctrl-C took {elapsed:.2f} s"

    # The re-run resumes: the two finished parts are not sent again.
    proxy.clear()
    seen = len(proxy.records)
    rerun = subprocess.run(
        [*args, "--endpoint-url", proxy.url], capture_output=True, check=False, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-1500:]
    parts_sent = [
        r for r in proxy.records[seen:] if r.method == "PUT" and "partNumber=" in r.target
    ]
    assert len(parts_sent) == 3
    _check_bucket(root_url, src, tmp_path)
