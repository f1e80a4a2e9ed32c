"""The embedded S3 server: start, auth, persistence, clean stop; `serve` and `quickstart`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from brainbucket import ServeError, open_store
from brainbucket.cli import run
from brainbucket.server import LocalServer, free_port
from cli_text import messages


def _env_for(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in server.env().items():
        monkeypatch.setenv(k, v)


def test_command_pins_loopback_ports_and_safety_flags(tmp_path: Path) -> None:
    server = LocalServer(tmp_path)
    ports = server._ports()
    args = server.command(ports, tmp_path / "ids.json")
    assert "-ip=127.0.0.1" in args
    assert "-ip.bind=127.0.0.1" in args
    assert "-master.telemetry=false" in args
    assert "-s3.concurrentUploadLimitMB=256" in args
    assert "-volume.max=5000" in args
    # Every service's HTTP and gRPC port is pinned, and all differ.
    for svc in ("master", "volume", "filer", "s3", "admin"):
        assert any(a.startswith(f"-{svc}.port=") for a in args)
        assert any(a.startswith(f"-{svc}.port.grpc=") for a in args)
    assert len(set(ports.values())) == len(ports)


def test_restart_keeps_data_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "srv"
    server = LocalServer(data)
    server.start()
    tmpdir = server._tmp
    assert tmpdir
    assert Path(tmpdir).is_dir()
    _env_for(server, monkeypatch)
    store = open_store("s3://persist")
    store.create_bucket()
    store.write_bytes("sub-01/anat.nii.gz", b"kept across restarts")
    first_port = server.port
    server.stop()
    assert not Path(tmpdir).exists()  # socket files went with the private temp folder
    assert not server.running

    # Same folder, another port: the remembered options must not pin the old one.
    again = LocalServer(data, port=free_port({first_port or 0}))
    with again:
        assert again.admin.access_key == server.admin.access_key  # identities are kept too
        _env_for(again, monkeypatch)
        assert (
            open_store("s3://persist").read_bytes("sub-01/anat.nii.gz") == b"kept across restarts"
        )


def test_many_buckets_keep_accepting_writes(s3_env: dict[str, str]) -> None:
    """Every bucket takes volume slots; the server must not run out after a few dozen."""
    for i in range(80):
        store = open_store(f"s3://many-buckets-{i:03d}")
        store.create_bucket(versioning=False)
        store.write_bytes("f.txt", b"x")
    assert open_store("s3://many-buckets-079").read_bytes("f.txt") == b"x"


def test_auth_is_enforced(s3_server: LocalServer, bucket: str) -> None:
    open_store(f"s3://{bucket}").write_bytes("private.txt", b"x")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{s3_server.endpoint_url}/{bucket}/private.txt", timeout=5)
    err.value.close()
    assert err.value.code == 403


def test_port_in_use_is_a_clear_error(s3_server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="already in use"):
        LocalServer(tmp_path, port=s3_server.port).start()


def test_serve_command_prints_endpoint_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brainbucket",
            "serve",
            "--data",
            str(tmp_path),
            "--port",
            str(port),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    ) as proc:
        _drive_serve(proc, port, env)
    assert proc.returncode == 0
    # Nothing listens any more.
    time.sleep(0.2)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def _drive_serve(proc: subprocess.Popen[str], port: int, env: dict[str, str]) -> None:
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert info["endpoint_url"] == f"http://127.0.0.1:{port}"
        env_file = Path(info["env_file"])
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        exports = dict(
            ln.removeprefix("export ").split("=", 1)
            for ln in env_file.read_text().splitlines()
            if ln.startswith("export ")
        )
        assert exports["BRAINBUCKET_ENDPOINT_URL"] == info["endpoint_url"]
        # The printed endpoint works with the exported credentials.
        code = subprocess.run(
            [sys.executable, "-m", "brainbucket", "mb", "s3://served"],
            env={**env, **exports},
            capture_output=True,
            text=True,
            check=False,
        )
        assert code.returncode == 0, code.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ACCESS", "AWS_SECRET", "BRAINBUCKET_ENDPOINT"))
    }
    proc = subprocess.run(
        [sys.executable, "-m", "brainbucket", "quickstart", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "done" in proc.stdout
    got = sorted(
        p.relative_to(tmp_path / "download").as_posix()
        for p in (tmp_path / "download").rglob("*")
        if p.is_file()
    )
    data = [p for p in got if not p.startswith(".brainbucket/")]  # the local manifest copy
    assert data
    assert all(p.startswith("sub-01/") for p in data)
    assert len(data) < len(got)
    for rel in data:
        assert (tmp_path / "download" / rel).read_bytes() == (
            tmp_path / "demo-study" / rel
        ).read_bytes()


def test_verify_passes_right_after_the_quickstart(
    s3_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """On a configured endpoint: the study is exactly what its manifest lists (its
    assembly lives in a bucket of its own), so `verify` passes; a second run says the
    buckets were there already and sends nothing again."""
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))
    bucket = f"qs-{uuid.uuid4().hex[:8]}"
    work = tmp_path / "qs"
    assert run(["quickstart", "--bucket", bucket, "--workdir", str(work)]) == 0
    out = capsys.readouterr().out.splitlines()
    files = [p for p in (work / bucket).rglob("*") if p.is_file()]
    assert out[0] == f"1. S3 server: {s3_env['BRAINBUCKET_ENDPOINT_URL']}"
    assert _step(out, 3) == (
        f"3. created s3://{bucket} and s3://{bucket}-assemblies (versioning: Enabled)"
    )
    assert _step(out, 4).startswith(f"4. synced the study up: {len(files)} files sent (0 already")
    assert f"to s3://{bucket}-assemblies, published it" in _step(out, 7)
    assert run(["verify", f"s3://{bucket}"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"ok: {len(files)} files checked, 0 missing, 0 mismatched, 0 untracked"
    ]
    assert messages(captured.err) == []
    keys = [o.path for o in open_store(f"s3://{bucket}").walk()]
    assert not [k for k in keys if k.startswith("assemblies/")]

    assert run(["quickstart", "--bucket", bucket, "--workdir", str(work)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert _step(out, 3) == (
        f"3. s3://{bucket} and s3://{bucket}-assemblies already existed, using them "
        "(versioning: Enabled)"
    )
    assert _step(out, 4).startswith(
        f"4. synced the study up: 0 files sent ({len(files)} already there)"
    )


# What the quickstart may not need: test-only packages a plain install does not have.
_BLOCKED = """
import sys
for name in ("pytest", "dipy", "scipy"):
    sys.modules[name] = None  # any import of them fails
from brainbucket.cli import run
raise SystemExit(run(sys.argv[1:]))
"""


def test_quickstart_needs_no_test_package(
    s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install brainbucket` (no extras) is enough for the quickstart: the demo's images
    come from nibabel without importing its pytest-based testing module, and nothing asks
    for dipy."""
    bucket = f"qs-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BRAINBUCKET_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCKED, "quickstart", "--bucket", bucket],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"1. S3 server: {s3_env['BRAINBUCKET_ENDPOINT_URL']}"
    assert "loaded it back with no credentials at all: identical" in proc.stdout


def _step(lines: list[str], n: int) -> str:
    return next(ln for ln in lines if ln.startswith(f"{n}. "))


def test_quickstart_leaves_no_folder_and_no_variable_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no endpoint configured: an embedded server for the run, the server's checksum
    named as it is, and afterwards no temporary folder, no cache entry for a server that is
    gone, and no environment variable set."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "BRAINBUCKET_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))
    before = dict(os.environ)

    assert run(["quickstart"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"1\. S3 server: http://127\.0\.0\.1:\d+ \(embedded, started for this run\)", out[0]
    )
    assert _step(out, 3) == (
        "3. created s3://demo-study and s3://demo-study-assemblies (versioning: Enabled)"
    )
    step4 = _step(out, 4)
    assert "checked by the server on arrival against its CRC64NVME checksum" in step4
    assert "verified by the server (sha256)" not in step4
    assert out[-1].startswith(f"removed the temporary folder {tmp}/brainbucket-quickstart-")
    assert list(tmp.iterdir()) == []
    assert not (tmp_path / "cache").exists()
    assert dict(os.environ) == before


def test_serve_says_what_its_env_file_sets_and_how_to_undo_it(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BRAINBUCKET_"))}
    names = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "BRAINBUCKET_ENDPOINT_URL",
    ]
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "brainbucket",
            "serve",
            "--data",
            str(tmp_path),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = []
            while not lines or lines[-1] != "Ctrl-C stops it.":
                lines.append(proc.stdout.readline().rstrip("\n"))
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
    env_file = tmp_path / "env.sh"
    unset = "unset " + " ".join(names)
    assert lines[0] == f"S3 server running at http://127.0.0.1:{port}  (data: {tmp_path})"
    assert f"  source {env_file}" in lines
    assert f"    sets {', '.join(names)}:" in lines
    assert f"  {unset}" in lines
    assert unset in env_file.read_text()  # the file says it too

    def shell_env(script: str) -> set[str]:
        done = subprocess.run(
            ["sh", "-c", script], env=env, capture_output=True, text=True, check=True
        )
        return {ln.split("=", 1)[0] for ln in done.stdout.splitlines()}

    assert set(names) <= shell_env(f". {env_file} && env")
    assert not set(names) & shell_env(f". {env_file} && {unset} && env")
