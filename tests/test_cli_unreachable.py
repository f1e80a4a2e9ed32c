"""An endpoint nobody answers at: exit 6 within about a second for a refused connection, a
message naming the endpoint (never a secret in it), and a hint that fits where it is."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from brainbucket import EndpointError
from brainbucket.cli import run
from brainbucket.server import free_port
from brainbucket.store._reach import endpoint_hint, probe

LOCAL_HINT = (
    "hint: is the server running? Start one with `brainbucket serve`, or fix --endpoint-url"
)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials, a folder to work in, and the default retries (not the suite's 2)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-at-all")
    monkeypatch.delenv("BRAINBUCKET_RETRIES")
    for name in ("BRAINBUCKET_ENDPOINT_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)  # each test names the endpoint it means
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "a.txt").write_text("a")


COMMANDS = [
    ["ls", "s3://study"],
    ["ls", "-r", "s3://study"],
    ["cat", "s3://study/a.txt"],
    ["cp", "s3://study/a.txt", "down/"],
    ["cp", "up/a.txt", "s3://study/a.txt"],
    ["sync", "up", "s3://study"],
    ["sync", "s3://study", "down"],
    ["status", "s3://study", "down"],
    ["verify", "s3://study"],
    ["mb", "s3://study"],
    ["get", "s3://study", "--subject", "01"],
    ["study", "s3://study"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_a_refused_connection_fails_fast_naming_the_endpoint(
    keys: None, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    port = free_port()
    t0 = time.monotonic()
    code = run([*args, "--endpoint-url", f"http://127.0.0.1:{port}"])
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert code == 6
    assert err.splitlines()[:2] == [
        f"error: s3://study: cannot reach the endpoint http://127.0.0.1:{port} (connection refused)",
        LOCAL_HINT,
    ]
    assert elapsed < 2.0  # was 1-10 s: every request's retries, with backoff


def test_the_endpoint_is_named_without_its_secrets(
    keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    endpoint = f"http://me:hunter2@127.0.0.1:{port}/?X-Amz-Signature=f00"
    assert run(["ls", "s3://study", "--endpoint-url", endpoint]) == 6
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"error: s3://study: cannot reach the endpoint http://127.0.0.1:{port} (connection refused)"
    )
    assert "hunter2" not in err
    assert "f00" not in err


def test_an_endpoint_from_the_aws_config_says_so(
    keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://localhost:{free_port()}")
    assert run(["ls", "s3://study"]) == 6
    hint = capsys.readouterr().err.splitlines()[1]
    assert hint == (
        "hint: is the server running? Start one with `brainbucket serve`, or fix AWS_ENDPOINT_URL"
    )


def test_a_forgotten_environment_variable_is_named(
    keys: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The env file of a server that has since stopped, still sourced.
    monkeypatch.setenv("BRAINBUCKET_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    assert run(["ls", "s3://study"]) == 6
    assert capsys.readouterr().err.splitlines()[1] == (
        "hint: is the server running? Start one with `brainbucket serve`, or fix "
        "BRAINBUCKET_ENDPOINT_URL"
    )


def test_a_remote_host_that_does_not_exist(keys: None, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.monotonic()
    code = run(["ls", "s3://study", "--endpoint-url", "https://s3.no-such-host.invalid:9000"])
    err = capsys.readouterr().err
    assert code == 6
    assert err.splitlines()[:2] == [
        "error: s3://study: cannot reach the endpoint https://s3.no-such-host.invalid:9000 "
        "(no such host)",
        "hint: check the network connection and --endpoint-url",
    ]
    assert "brainbucket serve" not in err
    assert time.monotonic() - t0 < 3.0


def test_aws_is_never_told_to_start_a_server() -> None:
    for endpoint in ("https://s3.amazonaws.com", "https://s3.eu-west-1.amazonaws.com"):
        for source in ("AWS", "settings", None):
            hint = endpoint_hint(endpoint, source)
            assert "serve" not in hint
            assert hint.startswith("check the network connection")


def test_a_server_that_is_just_starting_is_waited_for_briefly() -> None:
    port = free_port()
    listening = threading.Event()

    def start_late() -> None:
        time.sleep(0.3)
        with socket.create_server(("127.0.0.1", port)) as srv:
            listening.set()
            srv.settimeout(5)
            conn, _ = srv.accept()
            conn.close()

    thread = threading.Thread(target=start_late)
    thread.start()
    try:
        probe(f"http://127.0.0.1:{port}", what="s3://study", hint="")
    finally:
        thread.join()
    assert listening.is_set()


def test_without_retries_one_refusal_is_enough() -> None:
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(EndpointError, match="connection refused"):
        probe(f"http://127.0.0.1:{port}", what="s3://study", hint="", retry_refused=False)
    assert time.monotonic() - t0 < 0.2


@pytest.mark.parametrize("args", [["ls", "s3://"], ["ls"]], ids=["ls s3://", "ls"])
def test_listing_buckets_fails_fast_too(
    keys: None, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    port = free_port()
    t0 = time.monotonic()
    code = run([*args, "--endpoint-url", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 6
    assert err.splitlines()[:2] == [
        f"error: s3://: cannot reach the endpoint http://127.0.0.1:{port} (connection refused)",
        LOCAL_HINT,
    ]
    assert time.monotonic() - t0 < 2.0
