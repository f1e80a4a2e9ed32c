"""Servers without object versions or bucket policies get true, one-line answers (issue 15).

``rclone serve s3`` has neither (it answers ``NotImplemented``, or takes a policy request
for a bucket request); moto and SeaweedFS have both. These tests pin down what the commands
in ``test_servers.py`` only sketch: that such an answer is not retried, changes nothing, and
says what the missing feature costs; and that ``access`` probes with a real read.
"""

from __future__ import annotations

import json
import os

import pytest

from brainbucket import UsageError, open_store
from brainbucket.access import is_public, publish, unpublish
from brainbucket.cli import run
from cli_text import messages
from servers import S3Endpoint

from .test_servers import anonymous_get

USAGE, CREDENTIALS = 2, 5


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("server", ["rclone"], indirect=True)
def test_no_versioning_is_said_once_and_not_retried(
    server: S3Endpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    """The library's refusal names the missing feature; the server's ``NotImplemented`` was
    asked once; the bucket is made all the same, and `mb` reports it as made, with a warning
    that says what versions would have given."""
    name = f"nv-{os.urandom(4).hex()}"
    store = open_store(f"s3://{name}")
    with pytest.raises(UsageError) as caught:
        store.create_bucket()
    assert str(caught.value) == f"s3://{name}: this server does not support object versioning"
    assert caught.value.exit_code == USAGE
    answer = caught.value.__cause__.response  # type: ignore[union-attr]
    assert answer["ResponseMetadata"]["RetryAttempts"] == 0
    assert "cannot be brought back" in (caught.value.hint or "")
    assert store.create_bucket(versioning=False) is False  # made above, and ours

    other = f"nv-{os.urandom(4).hex()}"
    code, out, err = cli(capsys, "mb", f"s3://{other}", "--json")
    assert code == 0, err
    assert json.loads(out) == {"bucket": other, "created": True, "versioning": "Unavailable"}
    lines = messages(err)
    assert lines[0] == f"warning: s3://{other}: this server does not support object versioning"
    assert f"brainbucket mb s3://{other} --no-versioning" in lines[1]
    code, out, err = cli(capsys, "mb", f"s3://{other}", "--no-versioning", "--json")
    assert code == 0, err
    assert json.loads(out)["created"] is False
    assert messages(err) == []


@pytest.mark.parametrize("server", ["rclone"], indirect=True)
def test_no_policies_changes_nothing(
    server: S3Endpoint, server_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`publish`/`unpublish` refuse before any write (rclone would take a policy request for
    a bucket request): the bucket and its objects are untouched, and `access` still answers
    from real unsigned requests."""
    store = open_store(f"s3://{server_bucket}")
    store.write_bytes("pub/a.txt", b"bytes")
    for verb in (publish, unpublish):
        with pytest.raises(UsageError) as caught:
            verb(f"s3://{server_bucket}/pub")
        assert (
            str(caught.value)
            == f"s3://{server_bucket}: this server does not support bucket policies"
        )
        assert f"brainbucket share s3://{server_bucket}/KEY" in (caught.value.hint or "")
    assert store.read_bytes("pub/a.txt") == b"bytes"
    status = is_public(f"s3://{server_bucket}/pub")
    assert (status.public, status.listable, status.statements) == (False, False, [])

    code, out, err = cli(capsys, "access", f"s3://{server_bucket}/pub", "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is False


@pytest.mark.parametrize("server", ["seaweedfs", "moto"], indirect=True)
def test_access_reads_an_empty_object(
    server: S3Endpoint,
    server_bucket: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe reads the first byte of the first object listed; an empty one (the range
    lies past its end) still answers whether a stranger may read it."""
    store = open_store(f"s3://{server_bucket}")
    store.write_bytes("pub/CHANGES", b"")
    url = f"s3://{server_bucket}/pub"
    assert is_public(url).public is False
    code, _, err = cli(capsys, "publish", url)
    assert code == 0, err
    assert anonymous_get(f"{server.endpoint_url}/{server_bucket}/pub/CHANGES") == 200
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = cli(capsys, "access", url, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is True
