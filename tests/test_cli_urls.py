"""Mistyped URLs and invalid bucket names, as a user meets them: exit 2 and a message that
says what was meant, before any request is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import InvalidURLError, parse_url
from brainbucket.cli import run
from brainbucket.server import free_port


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An endpoint nobody listens on: a command that sent a request would exit 6, not 2."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-at-all")
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["ls", "s3:/study"], "error: 's3:/study' is not an S3 URL: did you mean s3://study?"),
        (["ls", "s3//study"], "error: 's3//study' is not an S3 URL: did you mean s3://study?"),
        (["ls", "s3:study"], "error: 's3:study' is not an S3 URL: did you mean s3://study?"),
        (
            ["cat", "S3:/study/sub-01/x.json"],
            "error: 'S3:/study/sub-01/x.json' is not an S3 URL: did you mean s3://study/sub-01/x.json?",
        ),
        (
            ["sync", ".", "s3:/study/derivatives"],
            "error: 's3:/study/derivatives' is not an S3 URL: did you mean s3://study/derivatives?",
        ),
        (
            ["sync", "s3:study", "out"],
            "error: 's3:study' is not an S3 URL: did you mean s3://study?",
        ),
        (
            ["cp", "x.txt", "s3:/study/"],
            "error: 's3:/study/' is not an S3 URL: did you mean s3://study/?",
        ),
        (
            ["get", "s3:/study", "--subject", "01"],
            "error: 's3:/study' is not an S3 URL: did you mean s3://study?",
        ),
        (["ls", "file:/data"], "error: 'file:/data' is not a file URL: did you mean file:///data?"),
    ],
)
def test_a_mistyped_s3_url_asks_what_was_meant(
    capsys: pytest.CaptureFixture[str], nowhere: str, args: list[str], first: str
) -> None:
    Path("x.txt").write_text("x")
    code, _, err = cli(capsys, *args, "--endpoint-url", nowhere)
    assert code == 2
    assert err.splitlines()[0] == first
    assert err.splitlines()[1].startswith("hint: ")
    assert not Path("s3:").exists()
    assert not Path("s3").exists()


def test_a_local_folder_of_that_name_is_still_a_folder(
    capsys: pytest.CaptureFixture[str], nowhere: str
) -> None:
    Path("s3:study").mkdir()
    Path("s3:study", "a.txt").write_text("a")
    code, out, _ = cli(capsys, "ls", "s3:study")
    assert code == 0
    assert out.split()[-1] == "a.txt"


@pytest.mark.parametrize(
    ("url", "first", "meant"),
    [
        ("s3://ab", "error: s3://ab: invalid bucket name 'ab': shorter than 3 characters", None),
        (
            "s3://My_Study/sub-01",
            "error: s3://My_Study/sub-01: invalid bucket name 'My_Study': uppercase letters and "
            "underscores are not allowed",
            "s3://my-study/sub-01",
        ),
        (
            "s3://Study",
            "error: s3://Study: invalid bucket name 'Study': uppercase letters are not allowed",
            "s3://study",
        ),
        (
            "s3://my_study",
            "error: s3://my_study: invalid bucket name 'my_study': underscores are not allowed",
            "s3://my-study",
        ),
        (
            "s3://study-",
            "error: s3://study-: invalid bucket name 'study-': must begin and end with a letter "
            "or digit",
            None,
        ),
        (
            "s3://10.0.0.1",
            "error: s3://10.0.0.1: invalid bucket name '10.0.0.1': must not look like an IP address",
            None,
        ),
    ],
)
@pytest.mark.parametrize("command", ["ls", "mb", "sync-up"])
def test_an_invalid_bucket_name_names_the_rule_before_any_request(
    capsys: pytest.CaptureFixture[str],
    nowhere: str,
    command: str,
    url: str,
    first: str,
    meant: str | None,
) -> None:
    Path("study").mkdir()
    if command == "mb" and "/" in url.removeprefix("s3://"):
        url = url.rsplit("/", 1)[0]
        first = first.replace("/sub-01", "")
        meant = meant and meant.replace("/sub-01", "")
    args = ["sync", "study", url] if command == "sync-up" else [command, url]
    code, _, err = cli(capsys, *args, "--endpoint-url", nowhere)
    assert code == 2  # a request would have failed with exit 6 (no connection)
    lines = err.splitlines()
    assert lines[0] == first
    assert lines[1].startswith("hint: bucket names are 3-63 characters: lowercase letters")
    if meant:
        assert lines[1].endswith(f"; did you mean {meant}?")


def test_valid_names_pass() -> None:
    for name in ("abc", "demo-study", "openneuro.org", "fcp-indi", "a" * 63, "1000genomes"):
        assert parse_url(f"s3://{name}/x").bucket == name


def test_a_server_that_refuses_a_name_is_a_usage_error() -> None:
    # A server may be stricter than the rules checked up front.
    from brainbucket.store._errors import from_code

    err = from_code("InvalidBucketName", 400, "s3://a.b-c", False)
    assert isinstance(err, InvalidURLError)
    assert err.exit_code == 2
    assert str(err) == "s3://a.b-c: the server refuses this bucket name"
