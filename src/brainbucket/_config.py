"""Configuration: one frozen dataclass whose defaults come from ``BRAINBUCKET_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Config"]


def _user_cache() -> Path:
    configured = os.environ.get("BRAINBUCKET_CACHE")
    if configured:
        return Path(configured)
    import platformdirs  # only when asked: most of a command's start-up is imports

    return Path(platformdirs.user_cache_dir("brainbucket"))


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Config:
    """Settings read once from the environment.

    Built where a call enters the library (``sync``, ``Mirror``, ``hcp.fetch``...) or by the
    command line, and handed down as values: nothing below an entry point reads the
    environment again. ``dataclasses.replace`` makes a variant (the CLI's ``--fsync``).

    Attributes
    ----------
    cache_dir
        ``BRAINBUCKET_CACHE``: root of the mirror cache and state (platformdirs' user cache).
    offline
        ``BRAINBUCKET_OFFLINE``: answer from the cache, never touch the network.
    jobs
        ``BRAINBUCKET_JOBS``: transfers in flight at once.
    fsync
        ``BRAINBUCKET_FSYNC``: flush each downloaded file to disk before it is renamed into
        place, so it survives a power cut (off by default, as in aws-cli, s5cmd and rclone).
    store
        ``BRAINBUCKET_STORE``: default store URL for assemblies.
    capability_ttl
        ``BRAINBUCKET_CAPABILITY_TTL``: seconds a server's probed capabilities are remembered
        on disk (default a day; 0: probe in every process).
    author
        ``BRAINBUCKET_AUTHOR``: who a tag says made it (else the login name and the
        credentials' key id).

    Examples
    --------
    >>> import dataclasses
    >>> config = Config(cache_dir=Path("cache"), jobs=8)
    >>> config.state_dir.as_posix(), dataclasses.replace(config, fsync=True).fsync
    ('cache/state', True)
    """

    cache_dir: Path = field(default_factory=_user_cache)
    offline: bool = field(default_factory=lambda: _env_bool("BRAINBUCKET_OFFLINE"))
    jobs: int = field(default_factory=lambda: _env_int("BRAINBUCKET_JOBS", 64))
    fsync: bool = field(default_factory=lambda: _env_bool("BRAINBUCKET_FSYNC"))
    store: str | None = field(default_factory=lambda: os.environ.get("BRAINBUCKET_STORE") or None)
    capability_ttl: int = field(
        default_factory=lambda: _env_int("BRAINBUCKET_CAPABILITY_TTL", 24 * 3600)
    )
    author: str | None = field(default_factory=lambda: os.environ.get("BRAINBUCKET_AUTHOR") or None)

    @property
    def state_dir(self) -> Path:
        """Where resumable-transfer state and hash caches live."""
        return self.cache_dir / "state"

    @property
    def capabilities_file(self) -> Path:
        """Where servers' probed capabilities are remembered (per endpoint, with a TTL)."""
        return self.cache_dir / "servers.json"

    @property
    def manifest_dir(self) -> Path:
        """Where manifest roots and shards read from stores are kept (immutable, by digest)."""
        return self.cache_dir / "manifests"
