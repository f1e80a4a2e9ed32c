"""Fixtures for the portability tests: a private cache and state folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``BRAINBUCKET_CACHE`` (state, hash, manifest, mirror and assembly caches)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(cache))
    return cache
