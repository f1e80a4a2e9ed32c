"""What a command line imports decides how soon it answers: ``--help`` within 0.2 s, a no-op
sync as soon as s5cmd's (see ``benchmarks/startup.py``).

Each case runs in a fresh interpreter that reports which of the modules a command should not
need it imported; a command that does need them is the control, so the probe is seen to work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import brainbucket
from brainbucket.cli import run

SRC = str(Path(brainbucket.__file__).resolve().parents[1])

# Needed by no help: the features and what they load.
FEATURES = (
    "asyncio",
    "obstore",
    "boto3",
    "sqlite3",
    "brainbucket.store",
    "brainbucket.sync",
    "brainbucket.mirror",
    "brainbucket.server",
    "brainbucket.assemblies",
    "brainbucket.access",
    "brainbucket.manifest",
    "brainbucket.hcp._select",
    "brainbucket.bids._schema",
)
# Loaded by typer's help renderer, used only for markdown help and pretty tracebacks.
UNUSED_BY_HELP = ("markdown_it", "pygments", "rich.markdown", "rich.traceback")

PROBE = """
import json, os, sys
watch = json.loads(sys.argv[1])
from brainbucket.cli import run
code = run(sys.argv[2:])
seen = sorted({w for w in watch for m in sys.modules if m == w or m.startswith(w + ".")})
sys.stdout.flush()
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "seen": seen}) + "\\n")
sys.stderr.flush()
os._exit(0)
"""


def imported(watch: tuple[str, ...], *argv: str) -> tuple[int, list[str], str]:
    """Run ``brainbucket *argv`` in a fresh interpreter: its exit code, which of ``watch``
    it imported, and its output."""
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(watch), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert line, proc.stderr
    result = json.loads(line[-1][len("PROBE ") :])
    return result["code"], result["seen"], proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "argv",
    [["--help"], [], ["sync", "--help"], ["mirror"], ["hcp", "fetch", "--help"], ["get", "-h"]],
    ids=" ".join,
)
def test_help_loads_no_feature(argv: list[str]) -> None:
    code, seen, out = imported(FEATURES + UNUSED_BY_HELP, *argv)
    assert code in (0, 2), out  # no command at all is a usage error, with the help
    assert seen == [], seen
    assert "Usage: brainbucket" in out


def test_version_loads_no_command() -> None:
    code, seen, out = imported(
        ("brainbucket.cli._sync", "brainbucket.cli._browse", "rich"), "--version"
    )
    assert (code, seen) == (0, [])
    assert out.startswith("brainbucket ")


def test_a_quiet_no_op_sync_loads_neither_rich_nor_asyncio(bucket: str, tmp_path: Path) -> None:
    (tmp_path / "study" / "sub-01").mkdir(parents=True)
    (tmp_path / "study" / "sub-01" / "notes.txt").write_text("x")
    url = f"s3://{bucket}/study"
    watch = ("rich", "asyncio", "boto3", "markdown_it")
    code, seen, out = imported(watch, "sync", str(tmp_path / "study"), url, "--quiet")
    assert code == 0, out
    assert "asyncio" in seen  # something moved: the control
    code, seen, out = imported(watch, "sync", str(tmp_path / "study"), url, "--quiet")
    assert (code, seen) == (0, []), out


def test_the_stand_ins_give_way_to_rich_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    capsys.readouterr()
    from rich.markdown import Markdown
    from rich.traceback import Traceback

    assert Markdown.__module__ == "rich.markdown"
    assert Traceback.__module__ == "rich.traceback"
    assert run(["--debug", "cat", "/nonexistent/brainbucket-startup-test"]) == 3
    assert "Traceback" in capsys.readouterr().err  # rich's own, from --debug
