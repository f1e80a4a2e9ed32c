"""Everyday commands start without importing boto3: it costs more than a no-op sync.

Each command runs in a fresh interpreter (a subprocess) that reports which of boto3,
botocore and s3transfer it imported. A control-plane command (``mb``) is the control: it must
import boto3, which shows the probe sees it.
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
from brainbucket.server import LocalServer

from .conftest import AwsFiles

HEAVY = ("boto3", "botocore", "s3transfer")

PROBE = f"""
import json, os, sys
argv = sys.argv[1:]
if argv == ["--import-only"]:
    import brainbucket
    code = 0
else:
    from brainbucket.cli import run
    code = run(argv)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
sys.stdout.flush()
sys.stderr.write("\\nPROBE " + json.dumps({{"code": code, "heavy": heavy}}) + "\\n")
sys.stderr.flush()
os._exit(0)
"""


def probe(*argv: str) -> tuple[int, list[str], str]:
    """Run ``brainbucket *argv`` in a fresh interpreter: exit code, heavy modules, output."""
    env = dict(os.environ)
    src = str(Path(brainbucket.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("PROBE ")]
    assert line, proc.stderr
    result = json.loads(line[-1][len("PROBE ") :])
    return result["code"], result["heavy"], proc.stdout + proc.stderr


def _study(root: Path, n: int = 12) -> Path:
    for i in range(n):
        p = root / f"sub-{i % 3:02d}" / "anat" / f"sub-{i % 3:02d}_run-{i}_T1w.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"run": i}))
    (root / "dataset_description.json").write_text('{"Name": "t", "BIDSVersion": "1.8.0"}')
    return root


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))


def test_import_and_help_do_not_import_boto3() -> None:
    code, heavy, _ = probe("--import-only")
    assert (code, heavy) == (0, [])
    code, heavy, out = probe("--help")
    assert (code, heavy) == (0, [])
    assert "sync" in out


def _everyday(url: str, study: Path, down: Path, *opts: str, every: bool = True) -> None:
    """A no-op sync both ways (and with ``every`` the read-only commands) without boto3."""
    commands = [
        ["sync", str(study), url, "--quiet"],
        ["sync", url, str(down), "--quiet"],
    ]
    if every:
        commands += [
            ["sync", url, str(down), "--quiet"],
            ["ls", url],
            ["cat", f"{url}/dataset_description.json"],
            ["cp", f"{url}/dataset_description.json", str(down / "copy.json")],
        ]
    for argv in commands:
        code, heavy, out = probe(*argv, *opts)
        assert code == 0, (argv, out)
        assert heavy == [], (argv, heavy)
    assert (down / "sub-01" / "anat" / "sub-01_run-1_T1w.json").read_text() == '{"run": 1}'
    assert "0 to upload" in probe("status", str(study), url, *opts)[2]


def test_environment_credentials(bucket: str, tmp_path: Path) -> None:
    study = _study(tmp_path / "study")
    url = f"s3://{bucket}/study"
    assert run(["sync", str(study), url, "--quiet"]) == 0
    _everyday(url, study, tmp_path / "down")


@pytest.mark.parametrize("where", ["credentials", "config", "AWS_PROFILE"])
def test_profile_credentials(
    where: str,
    bucket: str,
    s3_server: LocalServer,
    tmp_path: Path,
    aws_files: AwsFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study = _study(tmp_path / "study")
    url = f"s3://{bucket}/study"
    assert run(["sync", str(study), url, "--quiet"]) == 0  # as admin, from the environment

    admin = s3_server.admin
    keys = f"aws_access_key_id = {admin.access_key}\naws_secret_access_key = {admin.secret_key}\n"
    endpoint = f"endpoint_url = {s3_server.endpoint_url}\nregion = us-east-1\n"
    if where == "config":
        aws_files(f"[profile lab]\n{endpoint}{keys}")
    else:
        aws_files(f"[profile lab]\n{endpoint}", f"[lab]\n{keys}")
    opts: tuple[str, ...] = ("--profile", "lab")
    if where == "AWS_PROFILE":
        monkeypatch.setenv("AWS_PROFILE", "lab")
        opts = ()
    _everyday(url, study, tmp_path / "down", *opts, every=False)


def test_control_plane_imports_boto3_when_needed(s3_env: dict[str, str]) -> None:
    code, heavy, out = probe("mb", "s3://startup-control")
    assert code == 0, out
    assert "boto3" in heavy


def test_role_profile_uses_boto3(aws_files: AwsFiles, s3_server: LocalServer) -> None:
    aws_files(
        f"[profile lab]\nendpoint_url = {s3_server.endpoint_url}\n"
        "role_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Environment\n"
    )
    _, heavy, _ = probe("ls", "s3://public", "--profile", "lab")
    assert "boto3" in heavy


def test_missing_profile_fails_clearly_without_boto3(aws_files: AwsFiles) -> None:
    aws_files("[profile lab]\nregion = eu-west-1\n")
    code, heavy, out = probe("ls", "s3://bucket", "--profile", "nope")
    assert code != 0
    assert "AWS profile 'nope' not found" in out
    assert "aws configure --profile nope" in out
    assert "Traceback" not in out
    assert heavy == []
