"""Fixtures for sync tests: a private state folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh BRAINBUCKET_CACHE (state folder, hash and manifest caches) for every test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(cache))
    return cache / "state"
