"""What users of aws-cli and git expect from a command line: --version, global options
before or after the command, help that says what each option does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import brainbucket
from brainbucket.cli import run

SRC = str(Path(brainbucket.__file__).resolve().parents[1])


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "--version")
    assert (code, out, err) == (0, f"brainbucket {brainbucket.__version__}\n", "")


def test_version_from_a_fresh_process() -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-m", "brainbucket", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == f"brainbucket {brainbucket.__version__}"
