"""A command line loads only its own command module; help still lists every command, in order."""

from __future__ import annotations

import pytest

from brainbucket.cli import run
from brainbucket.cli._app import app
from brainbucket.cli._register import COMMANDS, GROUPS, load

from .test_no_boto3 import probe


def _help_commands(out: str) -> list[str]:
    """Command names from the help's command panel, in the order shown."""
    panel = out.split("Commands")[1]
    names = []
    for line in panel.splitlines():
        cells = line.strip("│ ").split()
        if cells and cells[0] in COMMANDS:
            names.append(cells[0])
    return names


def test_every_command_is_mapped_to_its_module() -> None:
    load(["--help"])
    registered = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert registered == set(COMMANDS)
    for info in app.registered_commands:
        assert info.callback is not None
        assert info.callback.__module__ == f"brainbucket.cli.{COMMANDS[str(info.name)]}"
    assert set(COMMANDS.values()) == set(GROUPS)


def test_help_order_does_not_depend_on_what_ran_before(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, fresh = probe("--help")
    assert code == 0
    expected = _help_commands(fresh)
    assert expected[:3] == ["ls", "tree", "du"]  # the everyday commands first
    assert len(expected) == len(COMMANDS)
    # In one process, commands registered one at a time, out of order, then help.
    for argv in (["hcp", "--help"], ["sync", "--help"], ["doctor", "--help"], ["ls", "--help"]):
        assert run(argv) == 0
    capsys.readouterr()
    assert run(["--help"]) == 0
    assert _help_commands(capsys.readouterr().out) == expected


def test_one_command_loads_one_module() -> None:
    code, _, out = probe("--debug", "status", "--help")
    assert code == 0
    assert "Usage: brainbucket status" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sycn"], "No such command 'sycn'. Did you mean 'sync'?"),
        (["sync"], "Missing argument"),
        (["ls", "--jobs", "4", "s3://bucket"], "No such option: --jobs"),
    ],
)
def test_usage_errors_exit_2_without_internal_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "internal error" not in err
