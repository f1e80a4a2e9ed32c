"""Each failure a user can meet has its own exception class, message and hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import (
    AccessDeniedError,
    BucketNotFoundError,
    CredentialsError,
    EndpointError,
    InvalidCredentialsError,
    InvalidURLError,
    NoCredentialsError,
    ObjectNotFoundError,
    open_store,
)
from brainbucket.server import LocalServer, free_port


def test_no_such_bucket(s3_env: dict[str, str]) -> None:
    store = open_store("s3://no-such-bucket-here")
    with pytest.raises(BucketNotFoundError, match="no such bucket") as err:
        list(store.ls())
    assert "`brainbucket ls s3://` lists yours" in (err.value.hint or "")  # a read: check the name


def test_no_such_key(s3_store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ObjectNotFoundError, match="no such key"):
        s3_store.info("missing.nii.gz")


def test_readonly_identity_cannot_write(
    s3_server: LocalServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(f"s3://{bucket}").write_bytes("x.txt", b"admin wrote this")
    for k, v in s3_server.env("readonly").items():
        monkeypatch.setenv(k, v)
    ro = open_store(f"s3://{bucket}")
    assert ro.read_bytes("x.txt") == b"admin wrote this"  # reading is allowed
    with pytest.raises(AccessDeniedError, match="access denied") as err:
        ro.write_bytes("y.txt", b"nope")
    assert "doctor" in (err.value.hint or "")


def test_no_credentials(
    s3_env: dict[str, str], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = open_store(f"s3://{bucket}")
    with pytest.raises(NoCredentialsError) as err:
        list(store.ls())
    assert "--profile" in (err.value.hint or "")
    with pytest.raises(NoCredentialsError):
        store.info("anything")


def test_wrong_secret(s3_env: dict[str, str], bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "definitely-not-the-secret-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong)
    store = open_store(f"s3://{bucket}")
    with pytest.raises(InvalidCredentialsError) as err:
        list(store.ls())
    assert wrong not in str(err.value)
    with pytest.raises(InvalidCredentialsError):
        store.info("x")


def test_unknown_access_key(
    s3_env: dict[str, str], bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDUNKNOWN000000000")
    with pytest.raises(InvalidCredentialsError):
        list(open_store(f"s3://{bucket}").ls())


def test_server_unreachable(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "1")
    store = open_store("s3://somewhere", endpoint_url=closed)
    with pytest.raises(EndpointError, match="cannot reach") as err:
        list(store.ls())
    assert "endpoint" in (err.value.hint or "")
    with pytest.raises(ConnectionError):  # still a built-in ConnectionError
        store.info("x")


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3:///key",
        "s3://a/x",
        "gs://bucket/x",
        "s3://bad..name/x",
        "s3://UP^per/x",
        "file://relative/x",
    ],
)
def test_malformed_urls(url: str) -> None:
    with pytest.raises(InvalidURLError) as err:
        open_store(url)
    assert err.value.hint


def test_anonymous_read_of_public_bucket(
    public_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(f"s3://{public_bucket}").write_bytes("open/data.txt", b"public bytes")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    anon = open_store(f"s3://{public_bucket}", anon=True)
    assert anon.read_bytes("open/data.txt") == b"public bytes"
    assert "open/" in [e.path for e in anon.ls()]


def test_anonymous_read_of_private_bucket_says_private(bucket: str) -> None:
    open_store(f"s3://{bucket}").write_bytes("secret.txt", b"private")
    anon = open_store(f"s3://{bucket}", anon=True)
    with pytest.raises(NoCredentialsError, match="private") as err:
        anon.read_bytes("secret.txt")
    assert "--profile" in (err.value.hint or "")


def _write_aws_files(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, server: LocalServer, profile: str
) -> None:
    ident = server.identity("readonly")
    (tmp / "config").write_text(
        f"[profile {profile}]\nregion = us-east-1\nendpoint_url = {server.endpoint_url}\n"
    )
    (tmp / "credentials").write_text(
        f"[{profile}]\naws_access_key_id = {ident.access_key}\n"
        f"aws_secret_access_key = {ident.secret_key}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "credentials"))


def test_profile_and_endpoint_from_aws_config(
    s3_server: LocalServer, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(f"s3://{bucket}").write_bytes("sub-01/f.txt", b"via profile")
    _write_aws_files(tmp_path, monkeypatch, s3_server, "lab")
    for k in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "BRAINBUCKET_ENDPOINT_URL",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.delenv(k, raising=False)
    store = open_store(f"s3://{bucket}", profile="lab")
    assert store.read_bytes("sub-01/f.txt") == b"via profile"
    assert [o.path for o in store.walk()] == ["sub-01/f.txt"]
    # AWS_PROFILE works the same way as --profile.
    monkeypatch.setenv("AWS_PROFILE", "lab")
    assert open_store(f"s3://{bucket}").read_bytes("sub-01/f.txt") == b"via profile"


def test_missing_profile(s3_env: dict[str, str]) -> None:
    store = open_store("s3://whatever", profile="no-such-profile")
    with pytest.raises(CredentialsError, match="no-such-profile") as err:
        list(store.ls())
    assert "aws configure --profile no-such-profile" in (err.value.hint or "")


def test_secrets_not_in_repr(s3_store) -> None:  # type: ignore[no-untyped-def]
    import os

    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    assert secret not in repr(s3_store)
    assert secret not in repr(s3_store.session)


@pytest.mark.parametrize("bug", [NameError("x"), AttributeError("y"), TypeError("z")])
def test_a_defect_is_not_disguised_as_a_store_error(bug: Exception) -> None:
    # A programming error inside a transfer must surface as itself (the CLI's internal
    # error, exit 70), never as one more failed file with a store-like message.
    from brainbucket.store._errors import translate

    with pytest.raises(type(bug)):
        translate(bug, "s3://b/k")
    assert isinstance(
        translate(ConnectionRefusedError("connection refused"), "s3://b"), EndpointError
    )


def test_an_unforeseen_store_error_does_not_repeat_its_url() -> None:
    # Whatever the data path says is passed on, but not the request's URL, which may hold a
    # secret (user:password@host, a presigned query).
    from brainbucket.store._errors import translate

    class GenericError(Exception):
        pass

    raw = (
        "Generic S3 error: Error performing GET http://me:hunter2@h:9/b/k?X-Amz-Signature=f00 - odd"
    )
    err = translate(GenericError(raw), "s3://b/k")
    assert "hunter2" not in str(err)
    assert "f00" not in str(err)
    assert str(err) == "s3://b/k: GenericError: Generic S3 error: Error performing GET <url> - odd"


@pytest.mark.parametrize("endpoint", ["ftp://h:9", "h:9", "file:///tmp"])
def test_an_endpoint_that_is_not_http_is_a_usage_error(
    s3_env: dict[str, str], endpoint: str
) -> None:
    store = open_store("s3://somewhere", endpoint_url=endpoint)
    with pytest.raises(InvalidURLError, match="not a valid http:// or https:// URL") as err:
        list(store.ls())
    assert err.value.exit_code == 2


def test_botocore_being_imported_by_another_thread_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A control-plane call may import botocore while transfers translate their errors: the
    # half-initialized module has no ClientError yet, and must not turn a failed transfer
    # into an internal error (seen as "partially initialized module 'botocore.exceptions'").
    import importlib.machinery
    import sys
    import types

    from brainbucket.store._errors import translate

    half = types.ModuleType("botocore.exceptions")
    half.__spec__ = importlib.machinery.ModuleSpec("botocore.exceptions", None)
    half.__spec__._initializing = True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "botocore.exceptions", half)
    err = translate(ConnectionRefusedError("connection refused"), "s3://b")
    assert isinstance(err, EndpointError)
