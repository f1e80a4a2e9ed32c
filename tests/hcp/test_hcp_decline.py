"""Declining ``hcp fetch``'s confirmation is an answer (exit 1, nothing downloaded), not an
interruption (130)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hcp_replica import DWI_SUBJECT

from brainbucket.cli import run
from cli_text import messages


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_declining_a_large_download_exits_1_and_fetches_nothing(
    hcp_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "hcp"
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    args = ["hcp", "fetch", DWI_SUBJECT, "--to", str(root), "--profile", "hcp"]
    code = run([*args, "--confirm-above", "1K"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.rstrip().endswith("? [y/N]:")
    assert "Download " in captured.out.splitlines()[-1]
    assert messages(captured.err) == ["nothing downloaded"]
    assert not root.exists()
