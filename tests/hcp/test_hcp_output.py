"""``brainbucket hcp ls`` in a pipe: tab-separated rows, sizes in bytes, keys whole."""

from __future__ import annotations

import json

import pytest
from hcp_replica import DWI_SUBJECT

from brainbucket.cli import run


def test_ls_subjects_in_a_pipe(hcp_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["hcp", "ls", DWI_SUBJECT, "--json"]) == 0
    sel = json.loads(capsys.readouterr().out)
    assert run(["hcp", "ls", DWI_SUBJECT]) == 0
    lines = capsys.readouterr().out.splitlines()
    first = sel["files"][0]
    assert lines[0] == f"{first['size']}\t{first['key']}\t{first['target']}"
    assert lines[: len(sel["files"])] == [
        f"{f['size']}\t{f['key']}\t{f['target']}" for f in sel["files"]
    ]
    assert lines[len(sel["files"]) :] == [
        f"{DWI_SUBJECT}\t{len(sel['files'])}\t{sel['total_size']}",
        f"total\t{len(sel['files'])}\t{sel['total_size']}",
    ]
