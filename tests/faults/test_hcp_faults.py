"""HCP fetches under faults: a flaky network, and SIGKILL at chosen points and random times.

A small replica of the HCP layout (two subjects' 3T diffusion folders, random bodies) lives in
a bucket of its own, so the HCP feature's own replica is left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from brainbucket import hcp, open_store
from brainbucket.store import S3Store

from ._helpers import kill_after, kill_at, temporaries
from .proxy import Fault, FaultProxy

SUBJECTS = ("100206", "100307")
HOLD = 120.0


@pytest.fixture
def replica(s3_env: dict[str, str]) -> tuple[str, dict[str, bytes]]:
    """``(bucket, key → body)`` of a two-subject HCP diffusion replica."""
    bucket = f"hcpf-{uuid.uuid4().hex[:8]}"
    store = open_store(f"s3://{bucket}")
    assert isinstance(store, S3Store)
    store.create_bucket()
    bodies: dict[str, bytes] = {}
    for s in SUBJECTS:
        base = f"HCP_1200/{s}/T1w/Diffusion/"
        bodies[base + "data.nii.gz"] = os.urandom(6 * 1024 * 1024 + int(s[-1]))
        bodies[base + "bvals"] = b"5 1000 2000 3000\n"
        bodies[base + "bvecs"] = b"0 1 0 0\n0 0 1 0\n0 0 0 1\n"
        bodies[base + "nodif_brain_mask.nii.gz"] = os.urandom(20_000)
        bodies[base + "grad_dev.nii.gz"] = os.urandom(50_000)
    for key, body in bodies.items():
        store.write_bytes(key, body)
    return bucket, bodies


def _check(dest: Path, bodies: dict[str, bytes]) -> None:
    """Every recorded file is there, verified, and holds its source object's exact bytes."""
    assert hcp.verify(dest) == []
    derivative = dest / "derivatives" / "hcp"
    files = _record(dest)
    assert {e["key"] for e in files.values()} == set(bodies)
    for rel, entry in files.items():
        assert (derivative / rel).read_bytes() == bodies[entry["key"]], rel


def _record(dest: Path) -> dict[str, dict]:
    derivative = dest / "derivatives" / "hcp"
    for p in derivative.iterdir():
        if p.is_file() and p.suffix == ".json" and "files" in (doc := json.loads(p.read_text())):
            return doc["files"]
    raise AssertionError("no fetch record")


def _no_unverified_file(dest: Path, bodies: dict[str, bytes]) -> None:
    """After a kill: data files under real names are complete copies of some source object."""
    known = {hashlib.sha256(b).hexdigest() for b in bodies.values()}
    for p in dest.rglob("*"):
        if not p.is_file() or p.name.endswith(".bbpart") or p.suffix in (".json", ".tsv"):
            continue
        assert hashlib.sha256(p.read_bytes()).hexdigest() in known, f"{p} is not verified data"


_FETCH = """
import json, os, sys
from brainbucket import hcp
r = hcp.fetch(json.loads(sys.argv[1]), sys.argv[2], kinds="dwi", bucket=sys.argv[3],
              endpoint_url=sys.argv[4] or None, jobs=2)
os._exit(0)
"""


def _start(dest: Path, bucket: str, endpoint: str = "") -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _FETCH, json.dumps(SUBJECTS), str(dest), bucket, endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_fetch_through_faults(
    replica: tuple[str, dict[str, bytes]], proxy: FaultProxy, tmp_path: Path
) -> None:
    bucket, bodies = replica
    proxy.add(
        Fault("cut", method="GET", path="data.nii.gz", first=2, after_bytes=1_000_000),
        Fault("status", method="GET", path="list-type", first=1, status=503, code="SlowDown"),
        Fault("drop", method="GET", path="bvecs", first=1),
        Fault("reset", method="HEAD", first=1),
    )
    dest = tmp_path / "hcp"
    hcp.fetch(SUBJECTS, dest, kinds="dwi", bucket=bucket, endpoint_url=proxy.url)
    assert {r.action for r in proxy.injected()} >= {"cut", "status", "drop"}
    _check(dest, bodies)
    assert temporaries(dest) == []


@pytest.mark.parametrize(
    "point",
    [
        "big-file-midway",
        pytest.param("first-small-file", marks=pytest.mark.slow),
    ],
)
def test_fetch_killed_then_rerun(
    point: str, replica: tuple[str, dict[str, bytes]], proxy: FaultProxy, tmp_path: Path
) -> None:
    bucket, bodies = replica
    fault = {
        "big-file-midway": Fault(
            "cut", method="GET", path="data.nii.gz", after_bytes=2_000_000, seconds=HOLD
        ),
        "first-small-file": Fault("stall", method="GET", path="bval", nth=1, seconds=HOLD),
    }[point]
    proxy.add(fault)
    dest = tmp_path / "hcp"
    kill_at(
        proxy,
        fault.action,
        _start(dest, bucket, proxy.url),
        settle=1.5 if fault.action == "cut" else 0.0,
    )
    if dest.exists():
        _no_unverified_file(dest, bodies)
    proxy.clear()
    hcp.fetch(SUBJECTS, dest, kinds="dwi", bucket=bucket, endpoint_url=proxy.url)
    _check(dest, bodies)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fetch_killed_at_random_time(
    seed: int, replica: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    bucket, bodies = replica
    dest = tmp_path / "hcp"
    kill_after(_start(dest, bucket), random.Random(seed).uniform(0.5, 4.0))
    if dest.exists():
        _no_unverified_file(dest, bodies)
    hcp.fetch(SUBJECTS, dest, kinds="dwi", bucket=bucket)
    _check(dest, bodies)
