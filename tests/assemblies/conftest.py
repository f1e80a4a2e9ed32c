"""Fixtures for assembly tests: a private cache per test, identities, a real assembly."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket.assemblies import demo_assembly
from brainbucket.server import LocalServer


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``BRAINBUCKET_CACHE`` for this test; assemblies land in ``cache/assemblies``."""
    root = tmp_path / "cache"
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(root))
    return root / "assemblies"


@pytest.fixture
def assembly():  # type: ignore[no-untyped-def]
    """A BrainIO-shaped neural recording assembly with MultiIndex dimensions."""
    return demo_assembly(seed=1)


@pytest.fixture
def as_identity(s3_server: LocalServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Switch the environment's credentials: an identity name, or ``None`` for none at all."""

    def switch(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
            monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
            return
        for k, v in s3_server.env(name).items():
            monkeypatch.setenv(k, v)

    return switch


@pytest.fixture
def files_under():  # type: ignore[no-untyped-def]
    """Every file below a folder (none if it does not exist)."""

    def _files(root: Path) -> list[Path]:
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

    return _files
