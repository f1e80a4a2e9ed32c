"""Fixtures for snapshot tests: a private cache per test, a study synced to a real bucket."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._study import synced


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh BRAINBUCKET_CACHE (state, hash and manifest caches) for every test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(cache))
    return cache


@pytest.fixture
def study(bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """A small study synced to a fresh versioned bucket; its URL."""
    return synced(bucket, tmp_path, capsys)
