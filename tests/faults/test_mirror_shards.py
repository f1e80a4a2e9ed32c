"""The mirror reads only the manifest shards it needs to answer for one subject.

Requests are counted by the fault proxy in front of the real server (it injects nothing
here): what the mirror asked of the server, not what the code meant to ask.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import sync
from brainbucket._demo import build_demo_study
from brainbucket.mirror import Mirror
from brainbucket.store import S3Settings, S3Store

from .proxy import FaultProxy

SUBJECTS = 24


def _shard_gets(proxy: FaultProxy) -> list[str]:
    return [
        r.target.partition("?")[0]
        for r in proxy.records
        if r.method == "GET" and "/.brainbucket/" in r.target and "/shards/" in r.target
    ]


def _bytes(store: S3Store, targets: list[str]) -> int:
    keys = [t.split("/.brainbucket/", 1)[1] for t in targets]
    return sum(store.info(f".brainbucket/{k}").size for k in keys)


def _mirror(url: str, proxy: FaultProxy, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Mirror:
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(cache))  # no manifest parts cached yet
    settings = S3Settings.from_options(endpoint_url=proxy.url)
    return Mirror(url, cache_dir=cache / "mirror", settings=settings)


def test_one_subject_reads_only_its_shards(
    root_url: str,
    direct_store: S3Store,
    proxy: FaultProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = build_demo_study(tmp_path / "study", subjects=SUBJECTS)
    assert sync(src, root_url).ok

    whole = _mirror(root_url, proxy, tmp_path / "a", monkeypatch)
    expected = sorted(f.path for f in whole.study.files(subject="03"))
    all_gets = _shard_gets(proxy)
    proxy.records.clear()

    one = _mirror(root_url, proxy, tmp_path / "b", monkeypatch)
    got = sorted(p.relative_to(one.root / "files").as_posix() for p in one.files(subject="03"))
    gets = _shard_gets(proxy)

    assert got == expected
    assert expected
    # The dataset-level shard, the subject's own and its derivatives' (if any): not one
    # per subject.
    assert len(all_gets) >= SUBJECTS
    assert 1 <= len(gets) <= len(all_gets) - (SUBJECTS - 1)
    print(
        f"\nshard GETs for one subject of {SUBJECTS}: {len(gets)} ({_bytes(direct_store, gets)} B)"
        f"; whole manifest: {len(all_gets)} ({_bytes(direct_store, all_gets)} B)"
    )
