"""The local mirror under faults: a flaky network, and a fetching process killed midway."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from brainbucket import sync
from brainbucket.mirror import Mirror

from ._helpers import BIG, PART, THRESHOLD, kill_after, kill_at, make_study, temporaries
from .proxy import Fault, FaultProxy

HOLD = 120.0


@pytest.fixture
def study(root_url: str, tmp_path: Path) -> Path:
    """A study uploaded (directly) to this test's prefix; its local source."""
    src = make_study(tmp_path / "study")
    assert sync(src, root_url, multipart_threshold=THRESHOLD, part_size=PART).ok
    return src


def _all_keys(src: Path) -> list[str]:
    return sorted(
        p.relative_to(src).as_posix()
        for p in src.rglob("*")
        if p.is_file() and ".brainbucket" not in p.parts
    )


def _fetch_all(m: Mirror, keys: list[str]) -> dict[str, Path]:
    return {k: m.path(k) for k in keys}


def _no_unverified_file(cache: Path, src: Path) -> None:
    """Whatever the mirror holds under a real data name is some source file's exact bytes."""
    import hashlib

    known = {hashlib.sha256(p.read_bytes()).hexdigest() for p in src.rglob("*") if p.is_file()}
    data = [p for p in cache.glob("mirror/*/files/**/*") if p.is_file()]
    for p in data:
        if p.name.endswith(".bbpart"):
            continue
        assert hashlib.sha256(p.read_bytes()).hexdigest() in known, f"{p} is not verified data"


def test_mirror_through_faults(
    study: Path, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    proxy.add(
        Fault("cut", method="GET", path="desc-big", first=2, after_bytes=3_000_000),
        Fault("status", method="GET", first=2, status=503, code="SlowDown"),
        Fault("drop", method="HEAD", first=2),
    )
    m = Mirror(root_url, cache_dir=tmp_path / "cache", endpoint_url=proxy.url, jobs=4)
    keys = _all_keys(study)
    got = _fetch_all(m, keys)
    assert {r.action for r in proxy.injected()} >= {"cut", "status"}
    for k, p in got.items():
        assert p.read_bytes() == (study / k).read_bytes(), k
    assert m.verify().damaged == []
    assert temporaries(tmp_path / "cache") == []


_FETCH = """
import os, sys
from brainbucket.mirror import Mirror
m = Mirror(sys.argv[1], cache_dir=sys.argv[2], endpoint_url=sys.argv[3] or None, jobs=2)
for key in sys.argv[4:]:
    m.path(key)
os._exit(0)
"""


def _start(root_url: str, cache: Path, endpoint: str, keys: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _FETCH, root_url, str(cache), endpoint, *keys],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_mirror_fetch_killed_midway_then_again(
    study: Path, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    proxy.add(Fault("cut", method="GET", path="desc-big", after_bytes=4_000_000, seconds=HOLD))
    keys = [BIG, *[k for k in _all_keys(study) if k != BIG][:5]]
    kill_at(proxy, "cut", _start(root_url, cache, proxy.url, keys), settle=1.5)
    assert temporaries(cache), "the kill should come while the big file is being written"
    _no_unverified_file(cache, study)
    proxy.clear()
    m = Mirror(root_url, cache_dir=cache, endpoint_url=proxy.url)
    for k in keys:
        assert m.path(k).read_bytes() == (study / k).read_bytes(), k
    assert m.verify().damaged == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mirror_fetch_killed_at_random_time(
    seed: int, study: Path, root_url: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    keys = _all_keys(study)
    kill_after(_start(root_url, cache, "", keys), random.Random(seed).uniform(0.5, 4.0))
    _no_unverified_file(cache, study)
    m = Mirror(root_url, cache_dir=cache)
    for k, p in _fetch_all(m, keys).items():
        assert p.read_bytes() == (study / k).read_bytes(), k
    assert m.verify().damaged == []
