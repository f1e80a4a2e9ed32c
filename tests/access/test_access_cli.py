"""`brainbucket publish|unpublish|access|share|doctor`: output, JSON and exit codes."""

from __future__ import annotations

import json
import urllib.request

import pytest

from brainbucket import open_store
from brainbucket.cli import run


def test_publish_access_unpublish(
    bucket: str, capsys: pytest.CaptureFixture[str], as_identity
) -> None:
    url = f"s3://{bucket}/pub"
    assert run(["access", url]) == 0
    assert "private" in capsys.readouterr().out
    assert run(["publish", url]) == 0
    assert "public" in capsys.readouterr().out
    assert run(["access", url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["public"], status["listable"], len(status["statements"])) == (True, True, 2)
    as_identity(None)  # a stranger asks: the answer needs no credentials
    assert run(["access", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["public"] is True
    as_identity("admin")
    assert run(["unpublish", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["public"] is False
    as_identity(None)
    assert run(["access", url]) == 0
    assert "private" in capsys.readouterr().out
    assert run(["publish", url]) == 5  # changing the policy needs credentials
    assert "credentials" in capsys.readouterr().err


def test_share_prints_a_working_link(bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    open_store(f"s3://{bucket}").write_bytes("notes/readme.txt", b"shared bytes")
    assert run(["share", f"s3://{bucket}/notes/readme.txt", "--expires", "10m"]) == 0
    link = capsys.readouterr().out.strip()
    with urllib.request.urlopen(link, timeout=10) as r:
        assert r.read() == b"shared bytes"
    assert run(["share", f"s3://{bucket}/notes/readme.txt", "--expires", "30d"]) == 2
    assert "7 days" in capsys.readouterr().err
    assert run(["share", f"s3://{bucket}/notes/missing.txt"]) == 3


def test_doctor_output_and_exit_code(
    bucket: str, s3_env: dict[str, str], capsys: pytest.CaptureFixture[str], as_identity
) -> None:
    assert run(["doctor", f"s3://{bucket}"]) == 0
    out = capsys.readouterr().out
    assert s3_env["AWS_ACCESS_KEY_ID"] in out
    assert s3_env["AWS_SECRET_ACCESS_KEY"] not in out
    assert "FAIL" not in out
    assert run(["doctor", "s3://no-such-bucket-zz", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["bucket_exists"] is False
    assert s3_env["AWS_SECRET_ACCESS_KEY"] not in json.dumps(report)
    as_identity(None)
    assert run(["doctor", f"s3://{bucket}"]) == 1
    out = capsys.readouterr().out
    assert "anonymous (unsigned)" in out
    assert "FAIL" in out
