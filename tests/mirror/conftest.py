"""A demo study on the test S3 server, and a private cache folder per test."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from brainbucket._demo import build_demo_study
from brainbucket.store import S3Store, Store


def upload_tree(store: Store, src: Path) -> list[str]:
    files = [p for p in sorted(src.rglob("*")) if p.is_file()]
    keys = [p.relative_to(src).as_posix() for p in files]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda pk: store.upload(pk[0], pk[1]), zip(files, keys, strict=True)))
    return keys


@dataclass
class Remote:
    url: str
    store: S3Store
    local: Path  # the same study on disk, to compare against
    keys: list[str]


@pytest.fixture
def remote(s3_store: S3Store, tmp_path: Path) -> Remote:
    src = build_demo_study(tmp_path / "src", subjects=3)
    keys = upload_tree(s3_store, src)
    return Remote(str(s3_store.url), s3_store, src, keys)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    d = tmp_path / "cache"
    d.mkdir()
    return d
