"""The README's examples that name the demo study run as written against it.

The demo is what a reader gets from ``brainbucket quickstart`` on a server that keeps
running (the README's "Trying the examples"): here the session's server. Command-line
examples run in one working folder, in README order, as a reader would type them; Python
blocks run as they are. A reader's own files that an example names (``local.nii.gz``...)
are put in that folder first.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainbucket.cli import run
from brainbucket.server import LocalServer
from cli_text import messages

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO = "s3://demo-study"

# Files the examples take from the reader's folder.
READER_FILES = ("sub-01_aparc+aseg.nii.gz", "local.nii.gz")
# How the reader gets the demo: what the fixture does instead.
SETUP = ("serve", "quickstart")


def _blocks() -> list[tuple[str, str]]:
    """(language, body) of every fenced block of the README."""
    text = README.read_text(encoding="utf-8")
    return [(m[1], m[2]) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)]


def _commands(body: str) -> list[str]:
    """The commands of a shell block: its ``$ `` lines if it shows output, else every line."""
    lines = body.splitlines()
    if any(ln.startswith("$ ") for ln in lines):
        lines = [ln[2:] for ln in lines if ln.startswith("$ ")]
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def cli_examples() -> list[str]:
    """Every `brainbucket` command of a shell block that uses the demo, up to a pipe."""
    out = []
    for lang, body in _blocks():
        if lang not in ("", "bash") or DEMO not in body:
            continue
        for cmd in _commands(body):
            if cmd.startswith("brainbucket ") and "$(" not in cmd and cmd.split()[1] not in SETUP:
                out.append(cmd.split(" | ")[0])
    return out


def python_examples() -> list[str]:
    return [body for lang, body in _blocks() if lang == "python" and DEMO in body]


def test_the_readme_has_demo_examples() -> None:
    cli = cli_examples()
    assert len(cli) >= 12
    assert any("--sample" in c for c in cli)
    assert any("sample(" in b for b in python_examples())


@pytest.fixture(scope="module")
def reader(s3_server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A reader's folder and shell: pointed at the server, the quickstart run once."""
    import nibabel.testing

    work = tmp_path_factory.mktemp("reader")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        mp.setenv("BRAINBUCKET_CACHE", str(work / ".cache"))
        mp.chdir(work)
        assert run(["quickstart", "--workdir", str(work / ".quickstart")]) == 0
        image = (Path(nibabel.testing.data_path) / "anatomical.nii").read_bytes()
        for name in READER_FILES:
            (work / name).write_bytes(image)
        yield work


@pytest.mark.parametrize("command", cli_examples())
def test_cli_example_runs_against_the_demo(
    reader: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(shlex.split(command, comments=True)[1:])
    err = capsys.readouterr().err
    assert code == 0, err


@pytest.mark.parametrize(
    "block", python_examples(), ids=lambda b: b.splitlines()[0][:40] or "block"
)
def test_python_example_runs_against_the_demo(reader: Path, block: str) -> None:
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})


def test_a_sample_larger_than_the_demo_says_what_there_is(
    reader: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error a reader meets when asking for more subjects than the demo has."""
    assert run(["sync", DEMO, "./five", "--sample", "5", "--seed", "0"]) == 2
    err = messages(capsys.readouterr().err)
    assert err == [
        "error: cannot sample 5 subjects from 3 (01, 02, 03)",
        "hint: choose a number between 0 and 3",
    ]
    assert not (reader / "five").exists()

    from brainbucket import Study, UsageError

    with pytest.raises(UsageError) as info:
        Study(DEMO).sample(5, seed=0)
    assert info.exconly() == (
        "brainbucket.UsageError: cannot sample 5 subjects from 3 (01, 02, 03)"
    )
