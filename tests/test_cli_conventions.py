"""What users of aws-cli and git expect from a command line: --version, global options
before or after the command, help that says what each option does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import brainbucket
from brainbucket import open_store
from brainbucket.cli import run
from brainbucket.server import LocalServer

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


# -- global options, before or after the command ----------------------------------------------

GLOBAL_FLAGS = ["--debug", "--quiet", "-q", "--json", "--anon"]
GLOBAL_VALUES = [
    "--profile=lab",
    "--endpoint-url=http://127.0.0.1:9",
    "--region=eu-west-1",
]


def _command_paths() -> list[list[str]]:
    """Every command and sub-command, as the words that name it."""
    from brainbucket.cli._app import app
    from brainbucket.cli._register import load

    load(["--help"])
    paths = [[str(c.name)] for c in app.registered_commands]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        paths += [[str(group.name), str(c.name)] for c in group.typer_instance.registered_commands]
    return sorted(paths)


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_accepts_every_global_option_before_and_after_it(
    path: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    everything = GLOBAL_FLAGS + GLOBAL_VALUES
    assert run([*path, "--help", *everything]) == 0
    assert run([*everything, *path, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Global options" in out
    for flag in ("--profile", "--endpoint-url", "--region", "--anon", "--json", "--debug"):
        assert flag in out, (path, flag)


def test_the_root_knows_which_of_its_options_take_a_value() -> None:
    from typer.main import get_command

    from brainbucket.cli._app import ROOT_VALUE_OPTIONS, app

    root = get_command(app)
    taking = {o for p in root.params if not getattr(p, "is_flag", True) for o in p.opts}
    assert taking == ROOT_VALUE_OPTIONS


@pytest.fixture
def lab(
    s3_server: LocalServer, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Profile ``lab`` in the AWS files holds the server and the keys; the environment none.

    Returns ``s3://bucket`` holding one object.
    """
    open_store(f"s3://{bucket}").write_bytes("sub-01/anat/sub-01_T1w.nii.gz", b"t1" * 50)
    for k in list(os.environ):
        if k.startswith("AWS_") or k == "BRAINBUCKET_ENDPOINT_URL":
            monkeypatch.delenv(k)
    admin = s3_server.admin
    (tmp_path / "config").write_text(
        f"[profile lab]\nendpoint_url = {s3_server.endpoint_url}\nregion = us-east-1\n"
    )
    (tmp_path / "credentials").write_text(
        f"[lab]\naws_access_key_id = {admin.access_key}\n"
        f"aws_secret_access_key = {admin.secret_key}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return f"s3://{bucket}"


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "lab", "ls", "-r", "URL"],
        ["ls", "-r", "URL", "--profile", "lab"],
        ["--profile=lab", "ls", "URL", "-r"],
        ["--profile", "nope", "ls", "-r", "URL", "--profile", "lab"],  # the command's wins
    ],
    ids=["before", "after", "before with =", "both"],
)
def test_profile_before_or_after_the_command(
    argv: list[str], lab: str, s3_server: LocalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *[a.replace("URL", lab) for a in argv])
    # The closing notice names the profile that chose the server.
    assert (code, err) == (
        0,
        f"brainbucket: used endpoint {s3_server.endpoint_url} (from profile lab's endpoint_url)\n",
    )
    assert out.split()[-1] == "sub-01/anat/sub-01_T1w.nii.gz"


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "nope", "ls", "URL"],
        ["ls", "URL", "--profile", "nope"],
        ["--profile", "lab", "ls", "URL", "--profile", "nope"],
    ],
    ids=["before", "after", "both"],
)
def test_a_missing_profile_is_the_same_error_wherever_it_is_given(
    argv: list[str], lab: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, *[a.replace("URL", lab) for a in argv])
    assert code == 5
    assert err.splitlines()[0] == "error: AWS profile 'nope' not found"


@pytest.mark.parametrize("where", ["before", "after"])
def test_endpoint_url_before_or_after_the_command(
    where: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 9 (discard): the command must go there, and fail to connect.
    opt = ["--endpoint-url", "http://127.0.0.1:9"]
    argv = [*opt, "ls", f"s3://{bucket}"] if where == "before" else ["ls", f"s3://{bucket}", *opt]
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (6, "")
    assert err.startswith("error:")


def test_the_commands_endpoint_url_wins(
    s3_server: LocalServer, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(
        capsys,
        "--endpoint-url", "http://127.0.0.1:9",
        "ls", f"s3://{bucket}",
        "--endpoint-url", s3_server.endpoint_url,
    )  # fmt: skip
    assert (code, err) == (
        0,
        f"brainbucket: used endpoint {s3_server.endpoint_url} (from --endpoint-url)\n",
    )


@pytest.mark.parametrize("where", ["before", "after"])
def test_anon_before_or_after_the_command(
    where: str, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = (
        ["--anon", "ls", f"s3://{bucket}"]
        if where == "before"
        else ["ls", f"s3://{bucket}", "--anon"]
    )
    code, _, err = cli(capsys, *argv)
    assert code == 5  # private data read anonymously
    assert err.splitlines()[0] == f"error: s3://{bucket}: private — credentials required"


def test_json_before_the_command(bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    open_store(f"s3://{bucket}").write_bytes("a/b.txt", b"abc")
    code, out, _ = cli(capsys, "--json", "du", f"s3://{bucket}")
    assert code == 0
    assert json.loads(out)["total"] == {"path": "", "size": 3, "count": 1}


def test_quiet_before_the_command(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub-01").mkdir()
    (tmp_path / "sub-01" / "notes.txt").write_text("hi")
    code, out, err = cli(capsys, "-q", "sync", str(tmp_path), f"s3://{bucket}/study")
    assert (code, out, err) == (0, "", "")
    code, out, _ = cli(capsys, "sync", str(tmp_path), f"s3://{bucket}/study")
    assert out.startswith("uploaded 0 files")


def test_debug_after_the_command(bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "cat", f"s3://{bucket}/missing.txt", "--debug")
    assert code == 3
    assert "Traceback" in err
    code, _, err = cli(capsys, "cat", f"s3://{bucket}/missing.txt")
    assert err.startswith("error:")  # one run's --debug does not leak into the next


def test_region_before_or_after_the_command(
    bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from brainbucket.cli._app import cli_options, settings_for_cli

    for argv in (
        ["--region", "eu-west-1", "ls", f"s3://{bucket}"],
        ["ls", f"s3://{bucket}", "--region", "eu-west-1"],
    ):
        assert run(argv) == 0
        assert cli_options().region == "eu-west-1"
        assert settings_for_cli().region == "eu-west-1"


# -- help that says what each option does ----------------------------------------------------


def _flat(text: str) -> str:
    """Help text without its boxes and line breaks, as one line of words."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def test_each_option_says_what_it_does() -> None:
    from typer.main import get_command

    from brainbucket.cli._app import app
    from brainbucket.cli._register import load

    load(["--help"])

    def check(command: object, path: str) -> None:
        helps: dict[str, str] = {}
        for p in command.params:  # type: ignore[attr-defined]
            if p.param_type_name != "option" or p.name == "help":
                continue
            text = (p.help or "").strip()
            assert text, f"{path} {p.opts[0]} has no help"
            assert "Several values" not in text
            assert text not in helps.values(), f"{path}: {p.opts[0]} and another say {text!r}"
            helps[p.opts[0]] = text
        for name, sub in (getattr(command, "commands", None) or {}).items():
            check(sub, f"{path} {name}")

    check(get_command(app), "brainbucket")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["get", "--help"],
            "--subject LABEL Only these subjects, with or without sub-: --subject 01 02.",
        ),
        (
            ["sync", "--help"],
            "--datatype NAME Only files in these datatype folders: --datatype anat dwi",
        ),
        (["ls", "--help"], "--profile NAME AWS profile to sign requests with"),
        (["--help"], "--endpoint-url URL S3 server to talk to, for anything but AWS"),
    ],
)
def test_help_as_printed(argv: list[str], line: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, *argv)
    assert code == 0
    assert line in _flat(out)
