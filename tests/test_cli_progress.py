"""Progress of `get` and `verify` as a user at a terminal sees it: bytes, files, rate and time
left on stderr; none with --quiet or --json, and none when stderr is not a terminal.

Each command runs in a child process whose stderr is a pseudo-terminal (its stdout a pipe),
as when a user types the command.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from brainbucket import sync
from cli_text import messages

SRC = str(Path(__file__).resolve().parents[1] / "src")
MiB = 1024 * 1024
BIG = "sub-01/anat/sub-01_T1w.nii.gz"
# rich's download column, its rate and its time left, as drawn when the transfer ends.
DRAWN = re.compile(r"32\.0/32\.0 MiB 1/1 files [\d.]+ [MG]B/s \d+:\d\d:\d\d")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "150"}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        env.pop(name, None)
    return env


def at_terminal(*args: str) -> tuple[int, str, str]:
    """Run `brainbucket ARGS` with stderr on a terminal; its exit code, stdout, and what the
    terminal showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "brainbucket", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    # Colours and cursor moves off: what a person reads.
    return proc.returncode, out.decode(), _ANSI.sub("", shown.decode(errors="replace"))


@pytest.fixture
def study(bucket: str, tmp_path: Path) -> str:
    """A study in a bucket with one file large enough to watch (32 MiB)."""
    src = tmp_path / "study"
    (src / BIG).parent.mkdir(parents=True)
    (src / BIG).write_bytes(os.urandom(32 * MiB))
    (src / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.8.0"}')
    url = f"s3://{bucket}/study"
    assert sync(src, url).ok
    return url


def test_get_shows_progress_at_a_terminal(study: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    code, out, shown = at_terminal("get", study, BIG, "--cache-dir", str(cache))
    assert code == 0, shown
    assert out.splitlines()[0].endswith(f"/files/{BIG}")
    assert "fetching" in shown
    assert DRAWN.search(shown), shown


@pytest.mark.parametrize("flag", ["--quiet", "--json"])
def test_get_shows_no_progress_with_quiet_or_json(study: str, tmp_path: Path, flag: str) -> None:
    code, out, shown = at_terminal("get", study, BIG, "--cache-dir", str(tmp_path / "c"), flag)
    assert code == 0, shown
    assert out.strip()
    # Nothing drawn: at most the one line naming a non-AWS server (only --quiet drops it).
    notice = [line for line in shown.splitlines() if line.startswith("brainbucket: using ")]
    assert shown.strip() == ("" if flag == "--quiet" else "\n".join(notice)), shown


def test_get_shows_no_progress_when_stderr_is_not_a_terminal(study: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "brainbucket", "get", study, BIG, "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith(f"/files/{BIG}")
    assert messages(proc.stderr) == []


def test_verify_shows_progress_at_a_terminal(study: str, tmp_path: Path) -> None:
    code, out, shown = at_terminal("verify", study, "--deep")
    assert code == 0, shown
    assert out.splitlines()[0] == "ok: 2 files checked, 0 missing, 0 mismatched, 0 untracked"
    assert "verifying" in shown
    assert "32.0/32.0 MiB" in shown

    copy = tmp_path / "copy"
    assert sync(study, copy).ok
    code, out, shown = at_terminal("verify", str(copy))
    assert code == 0, shown
    assert out.splitlines()[0] == "ok: 2 files checked, 0 missing, 0 mismatched, 0 untracked"
    assert "verifying" in shown
    assert re.search(r"32\.0/32\.0 MiB 2/2 files [\d.]+ [MG]B/s \d+:\d\d:\d\d", shown), shown

    code, out, shown = at_terminal("verify", str(copy), "--quiet")
    assert code == 0
    assert out.splitlines()[0] == "ok: 2 files checked, 0 missing, 0 mismatched, 0 untracked"
    assert shown == ""
