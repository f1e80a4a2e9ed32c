"""Fixtures for start-up tests: AWS config and credentials files of the test's own making."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

AwsFiles = Callable[..., dict[str, str]]


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AwsFiles:
    """Write ``config``/``credentials`` files, point the environment at them, set ``env``.

    Every ``AWS_*`` variable is cleared first, so each case states its whole environment.
    Returns the environment it set (for subprocesses).
    """

    def write(config: str = "", credentials: str = "", **env: str) -> dict[str, str]:
        for k in list(os.environ):
            if k.startswith("AWS_") or k == "BRAINBUCKET_ENDPOINT_URL":
                monkeypatch.delenv(k)
        config_file = tmp_path / "aws" / "config"
        creds_file = tmp_path / "aws" / "credentials"
        config_file.parent.mkdir(exist_ok=True)
        for path, text in ((config_file, config), (creds_file, credentials)):
            if text:
                path.write_text(text)
            elif path.exists():
                path.unlink()
        full = {
            "AWS_CONFIG_FILE": str(config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(creds_file),
            "AWS_EC2_METADATA_DISABLED": "true",
            **env,
        }
        for k, v in full.items():
            monkeypatch.setenv(k, v)
        return full

    return write
