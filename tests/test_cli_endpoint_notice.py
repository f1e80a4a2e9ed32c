"""A command that talks to a server other than AWS says which one, and why, on stderr.

After sourcing a server's environment file, or with a profile that names its own
``endpoint_url``, every command goes there: the person at the terminal is told, once, before
anything is sent. The line never holds a secret, ``--quiet`` drops it, and ``--json`` output
stays clean on stdout. When stderr is not a terminal (a script, a log) the line comes last, so
that the first line there is still the command's own message or error.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import brainbucket
from brainbucket import open_store
from brainbucket.cli import _app, run
from brainbucket.server import LocalServer
from brainbucket.store import S3Settings

SRC = str(Path(brainbucket.__file__).resolve().parents[1])


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in-process as if stderr were a terminal (capsys replaces it with a buffer)."""
    monkeypatch.setattr(_app, "_stderr_is_terminal", lambda: True)


@pytest.fixture
def study(bucket: str) -> str:
    open_store(f"s3://{bucket}").write_bytes("sub-01/anat/sub-01_T1w.nii.gz", b"t1" * 50)
    return f"s3://{bucket}"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_at_a_terminal_the_first_line_names_the_server(
    study: str, s3_server: LocalServer, tmp_path: Path
) -> None:
    """As a user meets it: a real process, stderr on a pseudo-terminal."""
    main, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": SRC}
    with subprocess.Popen(
        [sys.executable, "-m", "brainbucket", "ls", "-r", study],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
        cwd=tmp_path,
    ) as proc:
        os.close(secondary)
        out = proc.stdout.read().decode() if proc.stdout else ""
        err = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            err += chunk
        code = proc.wait(timeout=60)
    os.close(main)
    assert code == 0
    assert err.decode().splitlines()[0] == (
        f"brainbucket: using endpoint {s3_server.endpoint_url} (from BRAINBUCKET_ENDPOINT_URL)"
    )
    assert out.split()[-1] == "sub-01/anat/sub-01_T1w.nii.gz"


def test_from_the_environment(
    terminal: None, study: str, s3_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "ls", study)
    assert code == 0
    assert err.splitlines() == [
        f"brainbucket: using endpoint {s3_server.endpoint_url} (from BRAINBUCKET_ENDPOINT_URL)"
    ]
    assert out.split()[-1] == "sub-01/"


@pytest.mark.parametrize("where", ["before", "after"])
def test_from_the_option(
    where: str,
    terminal: None,
    study: str,
    s3_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("BRAINBUCKET_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    opt = ["--endpoint-url", s3_server.endpoint_url]
    argv = [*opt, "ls", study] if where == "before" else ["ls", study, *opt]
    code, _, err = cli(capsys, *argv)
    assert code == 0
    assert err.splitlines()[0] == (
        f"brainbucket: using endpoint {s3_server.endpoint_url} (from --endpoint-url)"
    )


def test_from_aws_endpoint_url(
    terminal: None,
    study: str,
    s3_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("BRAINBUCKET_ENDPOINT_URL")
    code, _, err = cli(capsys, "ls", study)
    assert code == 0
    assert err.splitlines()[0] == (
        f"brainbucket: using endpoint {s3_server.endpoint_url} (from AWS_ENDPOINT_URL)"
    )


def test_from_a_profile(
    terminal: None,
    study: str,
    s3_server: LocalServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for k in list(os.environ):
        if k.startswith("AWS_") or k == "BRAINBUCKET_ENDPOINT_URL":
            monkeypatch.delenv(k)
    admin = s3_server.admin
    (tmp_path / "config").write_text(f"[profile lab]\nendpoint_url = {s3_server.endpoint_url}\n")
    (tmp_path / "credentials").write_text(
        f"[lab]\naws_access_key_id = {admin.access_key}\n"
        f"aws_secret_access_key = {admin.secret_key}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    code, _, err = cli(capsys, "ls", study, "--profile", "lab")
    assert code == 0
    assert err.splitlines()[0] == (
        f"brainbucket: using endpoint {s3_server.endpoint_url} (from profile lab's endpoint_url)"
    )


def test_quiet_drops_it_and_json_stays_clean(
    terminal: None, study: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["--quiet", "ls", study], ["ls", study, "-q"]):
        code, _, err = cli(capsys, *argv)
        assert (code, err) == (0, "")
    code, out, err = cli(capsys, "du", study, "--json")
    assert code == 0
    assert json.loads(out)["total"]["count"] == 1
    assert err.startswith("brainbucket: using endpoint ")


def test_never_a_secret(
    terminal: None,
    study: str,
    s3_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "Sup3rSecretValue"
    host = s3_server.endpoint_url.removeprefix("http://")
    monkeypatch.setenv(
        "BRAINBUCKET_ENDPOINT_URL", f"http://user:{secret}@{host}/?X-Amz-Signature={secret}"
    )
    _, out, err = cli(capsys, "ls", study)
    assert err.splitlines()[0] == (
        f"brainbucket: using endpoint http://{host}/ (from BRAINBUCKET_ENDPOINT_URL)"
    )
    assert secret not in out + err


def test_hcp_after_sourcing_a_servers_environment(
    terminal: None,
    s3_server: LocalServer,
    s3_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's case: `hcp ls` went silently to the local server."""
    # A bucket of its own: other tests may have put an HCP replica on the session's server.
    missing = f"hcp-openaccess-{uuid.uuid4().hex[:8]}"
    code, _, err = cli(capsys, "hcp", "ls", "--bucket", missing)
    assert code != 0  # the local server holds no such bucket
    assert err.splitlines()[0] == (
        f"brainbucket: using endpoint {s3_server.endpoint_url} (from BRAINBUCKET_ENDPOINT_URL)"
    )


def test_once_per_command(terminal: None, study: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(
        capsys, "cp", f"{study}/sub-01/anat/sub-01_T1w.nii.gz", f"{study}/copy.nii.gz"
    )
    assert code == 0
    assert sum(line.startswith("brainbucket: using endpoint") for line in err.splitlines()) == 1
    # ... and again for the next command in the same process.
    assert cli(capsys, "ls", study)[2].startswith("brainbucket: using endpoint")


def test_not_for_local_folders_aws_or_scripts(
    terminal: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x")
    code, _, err = cli(capsys, "sync", str(tmp_path / "a"), str(tmp_path / "b"), "-q")
    assert (code, err) == (0, "")
    code, _, err = cli(capsys, "status", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 0
    # (status puts its summary line on stderr when stdout is a pipe, as here)
    assert "using endpoint" not in err
    _app.reset_options()
    _app.announce_endpoint(S3Settings(endpoint_url="https://s3.eu-west-1.amazonaws.com"))
    assert capsys.readouterr().err == ""


def test_last_when_stderr_is_not_a_terminal(
    study: str, s3_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "ls", study)
    assert (code, err.splitlines()) == (
        0,
        [f"brainbucket: used endpoint {s3_server.endpoint_url} (from BRAINBUCKET_ENDPOINT_URL)"],
    )
    code, _, err = cli(capsys, "ls", study, "-q")
    assert (code, err) == (0, "")
    code, _, err = cli(capsys, "--debug", "ls", study)  # --debug: at once, as at a terminal
    assert code == 0
    assert err.startswith("brainbucket: using endpoint ")


def test_a_scripts_first_line_is_still_the_error(
    s3_server: LocalServer, s3_env: dict[str, str], tmp_path: Path
) -> None:
    """A real process with stderr on a pipe: the error first, then which server said it."""
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **s3_env, "PYTHONPATH": SRC}
    proc = subprocess.run(
        [sys.executable, "-m", "brainbucket", "ls", f"s3://{missing}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    lines = proc.stderr.splitlines()
    assert proc.returncode != 0
    assert lines[0].startswith(f"error: s3://{missing}")
    assert lines[-1] == (
        f"brainbucket: used endpoint {s3_server.endpoint_url} (from BRAINBUCKET_ENDPOINT_URL)"
    )
