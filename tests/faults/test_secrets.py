"""The test server's secret keys never appear in output, errors, reprs, logs or metadata."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from brainbucket import BrainbucketError, open_store, sync
from brainbucket.cli import run
from brainbucket.server import LocalServer
from brainbucket.store import S3Store
from brainbucket.sync import verify

from ._helpers import make_study
from .proxy import Fault, FaultProxy


def _secrets(server: LocalServer) -> list[str]:
    return [i.secret_key for i in server.identities]


def _assert_clean(text: str | bytes, secrets: list[str], where: str) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for s in secrets:
        for form in {s, quote(s, safe=""), s[: len(s) // 2]}:
            assert form not in text, f"a secret key appeared in {where}"


@pytest.fixture
def secrets(s3_server: LocalServer) -> list[str]:
    found = _secrets(s3_server)
    assert all(len(s) >= 20 for s in found)
    return found


def test_cli_output_and_errors(
    secrets: list[str],
    root_url: str,
    s3_server: LocalServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    proxy: FaultProxy,
) -> None:
    src = make_study(tmp_path / "study", big=False)
    bucket = root_url.split("/")[2]
    ok_commands = [
        ["sync", str(src), root_url, "--json"],
        ["sync", str(src), root_url, "--dry-run", "--json"],
        ["status", str(src), root_url, "--json"],
        ["verify", root_url, "--json"],
        ["ls", root_url, "--json"],
        ["ls", "-r", root_url, "--json"],
        ["tree", root_url, "--json"],
        ["du", root_url, "--json"],
        ["cp", str(src / "README"), f"{root_url}/copy/README", "--json"],
        ["cp", f"{root_url}/README", str(tmp_path / "README.copy"), "--json"],
        ["cat", f"{root_url}/README"],
        ["mb", f"s3://{bucket}", "--json"],
        ["sync", root_url, str(tmp_path / "down"), "--json"],
        ["verify", str(tmp_path / "down"), "--json"],
        ["rm", f"{root_url}/copy/README", "--json"],
    ]
    for argv in ok_commands:
        assert run(argv) == 0, argv
        out = capsys.readouterr()
        _assert_clean(out.out + out.err, secrets, " ".join(argv))

    for argv in (
        ["doctor", root_url],
        ["doctor", root_url, "--json"],
        ["access", root_url, "--json"],
        ["share", f"{root_url}/README", "--json"],
    ):
        assert run(argv) in (0, 1), argv  # doctor exits 1 if any of its checks fails
        out = capsys.readouterr()
        _assert_clean(out.out + out.err, secrets, " ".join(argv))

    # Error paths: missing things, a refused identity, a wrong secret, an unreachable or
    # failing endpoint, and the debug traceback.
    failing = [
        ["ls", f"s3://{bucket}-missing/x"],
        ["cat", f"{root_url}/no/such/key"],
        ["ls", root_url, "--endpoint-url", "http://127.0.0.1:9"],
        ["ls", "-r", root_url, "--endpoint-url", proxy.url],
        ["--debug", "cat", f"{root_url}/no/such/key"],
    ]
    proxy.add(Fault("status", status=503, code="SlowDown"))
    for argv in failing:
        assert run(argv) != 0, argv
        out = capsys.readouterr()
        _assert_clean(out.out + out.err, secrets, " ".join(argv))

    for k, v in s3_server.env("readonly").items():
        monkeypatch.setenv(k, v)
    assert run(["cp", str(src / "README"), f"{root_url}/denied"]) == 4
    out = capsys.readouterr()
    _assert_clean(out.out + out.err, secrets, "a refused write")

    assert run(["doctor", root_url, "--json"]) in (0, 1)
    out = capsys.readouterr()
    _assert_clean(out.out + out.err, secrets, "doctor as the read-only identity")

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets[0][::-1])  # wrong, but secret too
    assert run(["ls", root_url]) == 5
    out = capsys.readouterr()
    _assert_clean(out.out + out.err, [*secrets, secrets[0][::-1]], "wrong credentials")
    assert run(["doctor", root_url]) == 1
    out = capsys.readouterr()
    _assert_clean(out.out + out.err, [*secrets, secrets[0][::-1]], "doctor, wrong credentials")


def test_reprs_and_error_messages(
    secrets: list[str], root_url: str, s3_server: LocalServer
) -> None:
    store = open_store(root_url)
    assert isinstance(store, S3Store)
    store.write_bytes("a.txt", b"x")
    texts = [
        repr(store),
        repr(store.session),
        repr(store.session.settings),
        repr(s3_server),
        repr(s3_server.identities),
        repr(s3_server.admin),
        str(store.session.obstore_kwargs(store.bucket)),
        repr(store.obs),
        store.presign("a.txt"),  # signed with the secret, never containing it
    ]
    for exc_call in (
        lambda: store.read_bytes("missing"),
        lambda: open_store(root_url, endpoint_url="http://127.0.0.1:9").read_bytes("a.txt"),
        lambda: open_store(root_url, profile="no-such-profile").read_bytes("a.txt"),
    ):
        with pytest.raises(BrainbucketError) as info:
            exc_call()
        texts += [str(info.value), repr(info.value), str(info.value.hint)]
        cause = info.value.__cause__
        texts.append(str(cause))
    _assert_clean("\n".join(texts), secrets, "reprs and errors")


def test_debug_logs(
    secrets: list[str], root_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    src = make_study(tmp_path / "study", big=False)
    assert sync(src, root_url).ok
    assert verify(root_url, deep=True).ok
    assert sync(root_url, tmp_path / "down").ok
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "botocore" in text  # the logs really were captured at debug level
    _assert_clean(text, secrets, "debug logs")


def test_metadata_state_and_caches(secrets: list[str], root_url: str, tmp_path: Path) -> None:
    """Manifests in the bucket and the folder, hash caches and resumable-transfer state."""
    from ._helpers import PART, THRESHOLD

    src = make_study(tmp_path / "study")
    assert sync(src, root_url, multipart_threshold=THRESHOLD, part_size=PART).ok
    assert sync(root_url, tmp_path / "down", multipart_threshold=THRESHOLD, part_size=PART).ok
    store = open_store(root_url)
    for obj in store.walk(".brainbucket"):
        _assert_clean(store.read_bytes(obj.path), secrets, obj.path)
    cache = Path(os.environ["BRAINBUCKET_CACHE"])
    for folder in (cache, tmp_path / "down" / ".brainbucket"):
        files = [p for p in folder.rglob("*") if p.is_file()]
        for p in files:
            _assert_clean(p.read_bytes(), secrets, str(p))


@pytest.mark.slow
def test_subprocess_cli_with_secret_in_environment(
    secrets: list[str], root_url: str, tmp_path: Path
) -> None:
    src = make_study(tmp_path / "study", big=False)
    env = dict(os.environ, BRAINBUCKET_DEBUG="1")
    for argv in (
        ["sync", str(src), root_url, "--json"],
        ["ls", f"{root_url}/nothing-here", "--json"],
        ["sync", root_url, str(tmp_path / "d"), "--endpoint-url", "http://127.0.0.1:9"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "brainbucket", *argv],
            capture_output=True,
            env=env,
            timeout=120,
            check=False,
        )
        _assert_clean(proc.stdout + proc.stderr, secrets, " ".join(argv))


def test_the_scan_would_notice_a_leak(secrets: list[str], s3_server: LocalServer) -> None:
    # The check itself is live: the server's own environment does hold the secret.
    with pytest.raises(AssertionError):
        _assert_clean(str(s3_server.env()), secrets, "the server's environment")


@pytest.mark.parametrize(
    "endpoint", ["http://user:{s}@127.0.0.1:9", "http://127.0.0.1:9/?k={s}", "ftp://{s}"]
)
def test_secret_inside_an_endpoint_url_is_not_echoed(
    endpoint: str, secrets: list[str], root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ls", root_url, "--endpoint-url", endpoint.format(s=secrets[0])]) != 0
    out = capsys.readouterr()
    _assert_clean(out.out + out.err, secrets, "an endpoint URL holding a secret")


def test_debug_of_one_run_does_not_leak_into_the_next(
    root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["--debug", "cat", f"{root_url}/missing"]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert run(["cat", f"{root_url}/missing"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error:")
