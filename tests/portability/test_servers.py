"""What a user does with every command, on each of three real S3 servers (issue 15).

Each test runs against SeaweedFS, ``rclone serve s3`` and moto's server mode (the ``server``
fixture; ``tests/servers.py`` says what each server honours) and asserts what a user expects
to hold: the correct result, or, where the server lacks a feature, one clear line with a
documented exit code. Where a server cannot do something at all (versions and bucket policies
on rclone), the test asserts that clear refusal instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from brainbucket import (
    ConflictError,
    IntegrityError,
    Mirror,
    PartialFailureError,
    open_store,
    read_manifest,
    sync,
    verify,
)
from brainbucket.cli import run
from servers import S3Endpoint

SRC = str(Path(__file__).resolve().parents[2] / "src")

MiB = 1024 * 1024
# Small multipart settings so a test file goes up in parts (S3's smallest part is 5 MiB).
PART_SIZE = 5 * MiB
MULTIPART_THRESHOLD = 6 * MiB

# Exit codes (README, "Errors and exit codes").
USAGE, CREDENTIALS, CONFLICT = 2, 5, 7

# -- helpers ---------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run one command in this process: exit code, stdout, stderr."""
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli_process(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run one command as its own process, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "brainbucket", *args],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        timeout=300,
        check=False,
    )


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def files_of(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` by relative path (hidden state folders left out)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.relative_to(root).as_posix().startswith(".brainbucket")
    }


def one_line_error(err: str) -> str:
    """The first line of a command's stderr, checked to be an error line without traceback."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert lines, "the command failed without saying why"
    assert lines[0].startswith("error: "), err
    return lines[0]


def anonymous_get(url: str) -> int:
    """HTTP status of an unsigned GET: what a stranger really gets."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def study(n_subjects: int = 2, *, tag: str = "") -> dict[str, bytes]:
    """A small BIDS-like study: dataset-level files (one empty), and per subject an image, its
    sidecar and a b-values file."""
    files: dict[str, bytes] = {
        "dataset_description.json": b'{"Name": "portability", "BIDSVersion": "1.9.0"}',
        "participants.tsv": b"participant_id\tage\n"
        + b"".join(f"sub-{i:02d}\t{20 + i}\n".encode() for i in range(1, n_subjects + 1)),
        "README": b"portability study " + tag.encode(),
        "CHANGES": b"",
    }
    for i in range(1, n_subjects + 1):
        sub = f"sub-{i:02d}"
        files[f"{sub}/ses-01/anat/{sub}_ses-01_T1w.nii.gz"] = os.urandom(20_000 + i)
        files[f"{sub}/ses-01/anat/{sub}_ses-01_T1w.json"] = b'{"RepetitionTime": 2.3}'
        files[f"{sub}/ses-01/dwi/{sub}_ses-01_dwi.bval"] = b"0 1000 1000\n"
    return files


def assert_manifest_lists(url: str, expected: dict[str, bytes]) -> None:
    """The dataset's manifest lists exactly these files with these contents."""
    m = read_manifest(open_store(url))
    assert m is not None, f"{url} has no manifest"
    listed = sorted(m)
    missing = sorted(set(expected) - set(listed))
    assert not missing, f"the manifest lost {len(missing)} file(s): {missing}"
    assert listed == sorted(expected)
    for path, data in expected.items():
        assert m[path].sha256 == sha256(data), f"{path}: manifest names other bytes"


# -- buckets ----------------------------------------------------------------------------------


def test_mb(server: S3Endpoint, capsys: pytest.CaptureFixture[str]) -> None:
    """`mb` creates a bucket with versioning where the server has versions; where it has none
    the user is told so in one line, never "try again later" (exit 10), and a second `mb` of
    one's own bucket is fine, never "taken by another account" (exit 7)."""
    name = f"mb-{os.urandom(4).hex()}"
    code, out, err = cli(capsys, "mb", f"s3://{name}", "--json")
    if server.traits.versioning:
        assert code == 0, err
        assert json.loads(out) == {"bucket": name, "created": True, "versioning": "Enabled"}
    else:
        # Either created without versions and said so, or refused before anything changed.
        assert code in (0, USAGE), err
        assert "try again later" not in err
        if code == 0:
            assert json.loads(out)["versioning"] != "Enabled"
            assert "versioning" in err
        else:
            assert re.search(r"versioning|object versions", one_line_error(err))
            assert "--no-versioning" in err
    code, out, err = cli(capsys, "mb", f"s3://{name}", "--no-versioning")
    assert code == 0, err
    code, out, err = cli(capsys, "mb", f"s3://{name}", "--no-versioning")
    assert code == 0, err
    assert "already exists" in out
    code, out, err = cli(capsys, "ls", f"s3://{name}")
    assert (code, out) == (0, ""), err


# -- browsing and single objects --------------------------------------------------------------


def test_cp_ls_cat_rm(
    server: S3Endpoint, server_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Single objects up, listed, read, down and deleted; odd names round-trip exactly."""
    url = f"s3://{server_bucket}"
    local = tree(
        tmp_path / "up",
        {
            "notes.txt": b"lab notes\n",
            "with space + ü.json": b'{"odd": "name"}',
            "empty.tsv": b"",
            "big.bin": os.urandom(3 * MiB),
        },
    )
    for name in sorted(files_of(local)):
        code, _, err = cli(capsys, "cp", str(local / name), f"{url}/sub-01/{name}")
        assert code == 0, f"cp {name}: {err}"

    code, out, err = cli(capsys, "ls", url)
    assert code == 0, err
    assert [line.split()[-1] for line in out.splitlines()] == ["sub-01/"]
    code, out, err = cli(capsys, "ls", "-r", "--json", url)
    assert code == 0, err
    rows = {json.loads(line)["path"]: json.loads(line)["size"] for line in out.splitlines()}
    assert rows == {f"sub-01/{n}": len(d) for n, d in files_of(local).items()}
    code, out, err = cli(capsys, "du", "--json", url)
    assert code == 0, err
    assert json.loads(out)["total"]["count"] == 4
    code, out, err = cli(capsys, "tree", url, "--depth", "2")
    assert code == 0, err
    assert "sub-01/" in out

    cat = cli_process("cat", f"{url}/sub-01/with space + ü.json")
    assert cat.returncode == 0, cat.stderr
    assert cat.stdout == b'{"odd": "name"}'

    down = tmp_path / "down"
    down.mkdir()
    for name, data in files_of(local).items():
        code, _, err = cli(capsys, "cp", f"{url}/sub-01/{name}", str(down / name))
        assert code == 0, f"cp down {name}: {err}"
        assert (down / name).read_bytes() == data

    code, _, err = cli(capsys, "rm", f"{url}/sub-01/notes.txt")
    assert code == 0, err
    code, out, _ = cli(capsys, "ls", "-r", "--json", url)
    assert "sub-01/notes.txt" not in {json.loads(line)["path"] for line in out.splitlines()}
    code, _, err = cli(capsys, "rm", "-r", "--yes", f"{url}/sub-01")
    assert code == 0, err
    assert list(open_store(url).walk()) == []
    code, _, err = cli(capsys, "cat", f"{url}/sub-01/notes.txt")
    assert code == 3
    assert "no such key" in one_line_error(err)


# -- sync -------------------------------------------------------------------------------------


def test_sync_up_down_status_verify(
    server: S3Endpoint, server_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Upload, a no-op re-sync, status after a change, download, verify both sides."""
    files = study()
    src = tree(tmp_path / "src", files)
    url = f"s3://{server_bucket}/study"

    code, out, err = cli(capsys, "sync", str(src), url, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["transferred"], doc["failed"]) == (len(files), [])
    assert_manifest_lists(url, files)

    code, out, err = cli(capsys, "sync", str(src), url, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["transferred"], doc["unchanged"], doc["failed"]) == (0, len(files), [])

    (src / "README").write_bytes(b"portability study, edited")
    code, out, err = cli(capsys, "status", str(src), url, "--json")
    assert code == 0, err
    assert json.loads(out)["actions"] == [
        {"action": "upload", "path": "README", "size": 25, "reason": "size changed"}
    ]
    code, _, err = cli(capsys, "sync", str(src), url, "-q")
    assert code == 0, err
    files["README"] = b"portability study, edited"

    code, out, err = cli(capsys, "verify", url)
    assert code == 0, err
    assert (
        out.splitlines()[-1]
        == f"ok: {len(files)} files checked, 0 missing, 0 mismatched, 0 untracked"
    )

    copy = tmp_path / "copy"
    code, out, err = cli(capsys, "sync", url, str(copy), "--json")
    assert code == 0, err
    assert json.loads(out)["transferred"] == len(files)
    assert files_of(copy) == files
    code, out, err = cli(capsys, "sync", url, str(copy), "--json")
    assert code == 0, err
    assert json.loads(out)["transferred"] == 0
    code, _, err = cli(capsys, "verify", str(copy))
    assert code == 0, err
    code, out, err = cli(capsys, "status", url, str(copy), "--json")
    assert code == 0, err
    assert json.loads(out)["actions"] == []

    (src / "CHANGES").unlink()
    del files["CHANGES"]
    code, _, err = cli(capsys, "sync", str(src), url, "--delete", "-q")
    assert code == 0, err
    assert_manifest_lists(url, files)
    assert not open_store(url).exists("CHANGES")
    code, _, err = cli(capsys, "sync", url, str(copy), "--delete", "-q")
    assert code == 0, err
    assert files_of(copy) == files


def test_multipart_upload_verify_and_download(
    server: S3Endpoint, server_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file above the multipart threshold goes up in parts; `verify` (shallow and deep)
    finds nothing wrong, since nothing is; it comes down byte for byte; a re-sync moves
    nothing."""
    files = study(1)
    files["sub-01/ses-01/dwi/sub-01_ses-01_dwi.nii.gz"] = os.urandom(2 * PART_SIZE + 12_345)
    src = tree(tmp_path / "src", files)
    url = f"s3://{server_bucket}/mp"
    kw = {"multipart_threshold": MULTIPART_THRESHOLD, "part_size": PART_SIZE}

    result = sync(src, url, **kw)
    assert (result.transferred, result.failed) == (len(files), [])
    assert_manifest_lists(url, files)

    code, out, err = cli(capsys, "verify", url)
    assert code == 0, f"{out}\n{err}"
    assert "0 mismatched" in out
    code, out, err = cli(capsys, "verify", url, "--deep")
    assert code == 0, f"{out}\n{err}"
    assert verify(url).ok

    assert sync(src, url, **kw).transferred == 0
    copy = tmp_path / "copy"
    down = sync(url, copy, **kw)
    assert down.failed == []
    assert files_of(copy) == files
    code, _, err = cli(capsys, "verify", str(copy))
    assert code == 0, err


# -- the mirror -------------------------------------------------------------------------------


def test_get_mirror(
    server: S3Endpoint, server_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`get` prints local paths of verified copies, by BIDS entity and by key."""
    files = study(3)
    url = f"s3://{server_bucket}/study"
    sync(tree(tmp_path / "src", files), url)

    code, out, err = cli(capsys, "get", url, "--subject", "02", "--datatype", "anat")
    assert code == 0, err
    paths = [Path(line) for line in out.splitlines()]
    assert sorted(p.name for p in paths) == ["sub-02_ses-01_T1w.json", "sub-02_ses-01_T1w.nii.gz"]
    for p in paths:
        key = next(k for k in files if k.endswith(p.name))
        assert p.read_bytes() == files[key]

    key = "sub-03/ses-01/dwi/sub-03_ses-01_dwi.bval"
    code, out, err = cli(capsys, "get", url, key)
    assert code == 0, err
    assert Path(out.strip()).read_bytes() == files[key]
    code, _, err = cli(capsys, "mirror", "verify", url)
    assert code == 0, err
    code, out, err = cli(capsys, "study", url, "--json")
    assert code == 0, err
    assert json.loads(out)["subjects"] == ["01", "02", "03"]


# -- public and private -----------------------------------------------------------------------


def _as_stranger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)


def _public_and_private(server: S3Endpoint, bucket: str) -> tuple[str, str, str]:
    """An object under ``pub/`` and one under ``private/``; their plain URLs, and ``pub``'s."""
    store = open_store(f"s3://{bucket}")
    store.write_bytes("pub/sub-01/data.txt", b"public bytes")
    store.write_bytes("private/secret.txt", b"private bytes")
    return (
        f"s3://{bucket}/pub",
        f"{server.endpoint_url}/{bucket}/pub/sub-01/data.txt",
        f"{server.endpoint_url}/{bucket}/private/secret.txt",
    )


def test_access_of_a_private_prefix(
    server: S3Endpoint, server_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`access` says what an anonymous request really gets: here, nothing."""
    url, pub_obj, _ = _public_and_private(server, server_bucket)
    assert anonymous_get(pub_obj) != 200
    code, out, err = cli(capsys, "access", url, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is False


def test_anonymous_read_of_private_data(
    server: S3Endpoint,
    server_bucket: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading private data without credentials is the one-line "private: credentials
    required" (exit 5), whatever error the server answers an unsigned request with."""
    _, pub_obj, _ = _public_and_private(server, server_bucket)
    assert anonymous_get(pub_obj) != 200
    _as_stranger(monkeypatch)
    code, _, err = cli(capsys, "cat", "--anon", f"s3://{server_bucket}/pub/sub-01/data.txt")
    assert code == CREDENTIALS, err
    assert "private" in one_line_error(err)


def test_publish_access_unpublish(
    server: S3Endpoint,
    server_bucket: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`publish`/`unpublish` change what a stranger gets where the server has bucket
    policies, and `access` reports it; elsewhere `publish` says in one line that the server
    has none (a usage error, exit 2)."""
    url, pub_obj, private_obj = _public_and_private(server, server_bucket)
    code, out, err = cli(capsys, "publish", url)
    if not server.traits.policies:
        assert code == USAGE, out + err
        line = one_line_error(err)
        assert re.search(r"(does not support|has no|no) bucket policies", line), line
        assert "not valid JSON" not in err
        assert anonymous_get(pub_obj) != 200
        code, _, err = cli(capsys, "unpublish", url)
        assert code == USAGE, err
        assert re.search(r"(does not support|has no|no) bucket policies", one_line_error(err))
        return

    assert code == 0, err
    assert anonymous_get(pub_obj) == 200
    assert anonymous_get(private_obj) in (401, 403)
    code, out, err = cli(capsys, "access", url, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is True
    _as_stranger(monkeypatch)
    code, out, err = cli(capsys, "access", url, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is True
    code, out, err = cli(capsys, "cat", "--anon", f"{url}/sub-01/data.txt")
    assert (code, out) == (0, "public bytes"), err

    for k, v in server.env().items():
        monkeypatch.setenv(k, v)
    code, out, err = cli(capsys, "unpublish", url, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is False
    assert anonymous_get(pub_obj) in (401, 403)
    code, out, err = cli(capsys, "access", url, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is False


def test_share(server: S3Endpoint, server_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`share` prints a link anyone can download the object from."""
    open_store(f"s3://{server_bucket}").write_bytes("sub-01/notes.txt", b"shared bytes")
    code, out, err = cli(
        capsys, "share", f"s3://{server_bucket}/sub-01/notes.txt", "--expires", "10m"
    )
    assert code == 0, err
    with urllib.request.urlopen(out.strip(), timeout=10) as r:
        assert r.read() == b"shared bytes"
    code, _, err = cli(capsys, "share", f"s3://{server_bucket}/sub-01/missing.txt")
    assert code == 3, err


def test_doctor(server: S3Endpoint, server_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`doctor` on a working setup reports no failure (a feature the server lacks is not a
    failure), names the access key and never the secret."""
    code, out, err = cli(capsys, "doctor", f"s3://{server_bucket}")
    assert code == 0, out + err
    assert "FAIL" not in out
    assert server.access_key in out
    assert server.secret_key not in out + err
    code, out, err = cli(capsys, "doctor", f"s3://{server_bucket}", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["bucket_exists"] is True
    assert server.secret_key not in out


@pytest.mark.parametrize("server", ["seaweedfs", "rclone"], indirect=True)
def test_wrong_secret_is_refused(
    server: S3Endpoint,
    server_bucket: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On servers that check signatures (not moto's server mode), a wrong secret is exit 5
    in one line, and `doctor` names the failing request."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-" + os.urandom(8).hex())
    code, _, err = cli(capsys, "ls", f"s3://{server_bucket}")
    assert code == CREDENTIALS, err
    one_line_error(err)
    code, out, _ = cli(capsys, "doctor", f"s3://{server_bucket}")
    assert code == 1
    assert "FAIL" in out


def test_quickstart_on_the_configured_server(
    server: S3Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`quickstart` with a server configured runs the main job there; where the server lacks
    what a step needs (versions, bucket policies for the public assembly) it says so in one
    line with a documented exit code, never a retry-then-"try again later"."""
    bucket = f"qs-{os.urandom(4).hex()}"
    code, out, err = cli(
        capsys, "quickstart", "--workdir", str(tmp_path / "qs"), "--bucket", bucket
    )
    # Step 4 claims the server checked each upload's checksum only where it does (SeaweedFS
    # refuses a wrong one; rclone and moto accept it).
    step4 = next(line for line in out.splitlines() if line.startswith("4."))
    checks = server.name == "seaweedfs"
    assert ("each checked by the server on arrival" in step4) is checks, step4
    assert ("not checked by this server on arrival" in step4) is not checks, step4
    if server.traits.versioning and server.traits.policies:
        assert code == 0, out + err
        return
    assert "try again later" not in err
    assert "not valid JSON" not in err
    if code != 0:
        assert code == USAGE, out + err
        line = one_line_error(err)
        assert re.search(r"versioning|versions|bucket policies", line), line


# -- assemblies -------------------------------------------------------------------------------


def test_assemblies_upload_and_load(
    server: S3Endpoint, server_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two versions of one identifier; each loads back exactly, verified, by what its record
    says (version id where the server keeps versions, sha1 everywhere)."""
    store = f"s3://{server_bucket}/assemblies"
    v1 = tree(tmp_path, {"v1/rates.bin": os.urandom(4000)}) / "v1/rates.bin"
    v2 = tree(tmp_path, {"v2/rates.bin": os.urandom(5000)}) / "v2/rates.bin"
    records = []
    for f in (v1, v2):
        code, out, err = cli(
            capsys, "assembly", "upload", str(f), "lab.port", "--store", store, "--json"
        )
        assert code == 0, err
        records.append(json.loads(out))
    if server.traits.versioning:
        assert all(r["version_id"] for r in records)
    else:
        assert all(r["version_id"] is None for r in records)

    for rec, f in zip(records, (v1, v2), strict=True):
        args = ["assembly", "load", "lab.port", "--sha1", rec["sha1"], "--store", store, "--json"]
        if rec["version_id"]:
            args += ["--version-id", rec["version_id"]]
        code, out, err = cli(capsys, *args)
        assert code == 0, err
        assert Path(json.loads(out)["path"]).read_bytes() == f.read_bytes()
    code, out, err = cli(capsys, "assembly", "load", "lab.port", "--store", store, "--json")
    assert code == 0, err
    assert json.loads(out)["sha1"] == records[1]["sha1"]
    code, out, err = cli(capsys, "assembly", "versions", "lab.port", "--store", store, "--json")
    assert code == 0, err
    assert sorted(r["sha1"] for r in json.loads(out)) == sorted(r["sha1"] for r in records)


def test_assembly_catalog_race(server: S3Endpoint, server_bucket: str) -> None:
    """Another uploader changes the catalog between our read and our write: either both
    changes end up in the catalog, or ours fails loudly (ConflictError) — never one silently
    lost. (The catalog's update function is private; its race cannot be staged otherwise.)"""
    from brainbucket.assemblies._catalog import read_catalog, update_catalog

    store = open_store(f"s3://{server_bucket}/cat")
    update_catalog(store, lambda c: c.entries.setdefault("lab.first", []))
    interfered: list[bool] = []

    def change(catalog):  # type: ignore[no-untyped-def]
        if not interfered:
            interfered.append(True)
            update_catalog(
                open_store(f"s3://{server_bucket}/cat"),
                lambda c: c.entries.setdefault("lab.other", []),
            )
        catalog.entries.setdefault("lab.mine", [])

    try:
        update_catalog(store, change, sleep=lambda s: None)
    except ConflictError:
        assert "lab.other" in read_catalog(store).identifiers()
        return
    assert read_catalog(store).identifiers() == ["lab.first", "lab.mine", "lab.other"]


# -- two writers, and a reader during a write ---------------------------------------------------


def _two_writers(tmp_path: Path) -> tuple[dict[str, bytes], Path, Path, dict[str, bytes]]:
    base = study(1)
    a = {**base, **{f"sub-02/anat/sub-02_run-{i}_T1w.nii.gz": os.urandom(3000) for i in range(3)}}
    b = {**base, **{f"sub-03/anat/sub-03_run-{i}_T1w.nii.gz": os.urandom(3000) for i in range(3)}}
    return base, tree(tmp_path / "a", a), tree(tmp_path / "b", b), {**a, **b}


def test_two_writers_staged_race(server: S3Endpoint, server_bucket: str, tmp_path: Path) -> None:
    """Writer A finishes while writer B is between reading and moving the manifest pointer:
    B must lose loudly (exit 7) or merge; after a re-run of the loser the manifest lists every
    file of both. Never a silent lost update."""
    url = f"s3://{server_bucket}/race"
    base, a, b, everything = _two_writers(tmp_path)
    sync(tree(tmp_path / "base", base), url)
    try:
        sync(b, url, on_plan=lambda _: sync(a, url))
    except ConflictError:
        sync(b, url)  # the loser's re-run
    assert_manifest_lists(url, everything)
    assert verify(url).ok


# One of two uploaders, as its own process: it plans (reading the manifest pointer), waits
# until the other has planned too, then uploads and moves the pointer. Exits as the CLI does:
# 0, or the error's documented code with the error on one line.
_RACER = """
import sys, time
from pathlib import Path
from brainbucket import BrainbucketError, sync

src, url, me, other = sys.argv[1:5]

def barrier(plan):
    Path(me).touch()
    deadline = time.monotonic() + 60
    while not Path(other).exists() and time.monotonic() < deadline:
        time.sleep(0.01)

try:
    sync(src, url, on_plan=barrier, jobs=4)
except BrainbucketError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def test_two_concurrent_syncs(server: S3Endpoint, server_bucket: str, tmp_path: Path) -> None:
    """Two uploads into one dataset in two processes, both planned before either finishes:
    exactly one loses with exit 7 (or both merge); once the loser re-runs `brainbucket
    sync`, the manifest lists every file of both. Never a silent lost update."""
    url = f"s3://{server_bucket}/race"
    base, a, b, everything = _two_writers(tmp_path)
    sync(tree(tmp_path / "base", base), url)
    flags = {a: tmp_path / "planned-a", b: tmp_path / "planned-b"}
    procs = {
        src: subprocess.Popen(
            [sys.executable, "-c", _RACER, str(src), url, str(flags[src]), str(flags[other])],
            env={**os.environ, "PYTHONPATH": SRC},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for src, other in ((a, b), (b, a))
    }
    codes = {}
    for src, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        codes[src] = proc.returncode
        assert proc.returncode in (0, CONFLICT), err.decode()
    lost = [src for src, code in codes.items() if code == CONFLICT]
    assert len(lost) <= 1, "both uploads lost: neither moved the pointer"
    for src in lost:
        rerun = cli_process("sync", str(src), url, "--quiet")
        assert rerun.returncode == 0, rerun.stderr.decode()
    assert_manifest_lists(url, everything)
    assert verify(url).ok


def _copy_matches_manifest(copy: Path, manifest: dict[str, str], refused: list[str]) -> None:
    """Every file in the copy holds the bytes the manifest names; refused ones are absent."""
    for path, digest in manifest.items():
        local = copy / path
        if path in refused:
            assert not local.exists(), f"{path}: refused, yet a file was left under its name"
            continue
        assert local.is_file(), f"{path} missing from the copy"
        assert sha256(local.read_bytes()) == digest, f"{path}: not the manifest's bytes"


def _download(url: str, dest: Path, during: Callable[[], object] | None = None) -> list[str]:
    """Sync ``url`` down, running ``during`` after the plan is made; the paths refused."""
    hook = (lambda _: during()) if during else None
    try:
        result = sync(url, dest, on_plan=hook)
    except PartialFailureError as exc:
        return [str(item) for item, _ in exc.failures]
    except IntegrityError as exc:
        return [str(exc)]
    return [p for p, _ in result.failed]


def test_read_while_another_upload_overwrites(
    server: S3Endpoint, server_bucket: str, tmp_path: Path
) -> None:
    """A download plans from the manifest, then another upload overwrites a file: the reader
    gets the bytes of the manifest it read (where the server keeps versions); where it keeps
    none, that file is refused in one line and never written with the wrong bytes."""
    url = f"s3://{server_bucket}/live"
    v1 = study(1, tag="v1")
    src = tree(tmp_path / "src", v1)
    sync(src, url)
    m = read_manifest(open_store(url))
    assert m is not None
    first = {p: m[p].sha256 for p in m}
    changed = "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz"
    v2 = {**v1, changed: os.urandom(len(v1[changed]))}  # same size, other bytes

    def overwrite() -> None:
        tree(src, {changed: v2[changed]})
        sync(src, url)

    copy = tmp_path / "copy"
    refused = _download(url, copy, overwrite)
    if server.traits.versioning:
        assert refused == [], f"the reader was refused: {refused}"
    else:
        assert refused in ([], [changed]), refused
    _copy_matches_manifest(copy, first, refused)

    assert _download(url, copy) == []  # the next run gets the new state
    assert files_of(copy) == v2


def test_mirror_read_while_another_upload_overwrites(
    server: S3Endpoint, server_bucket: str, tmp_path: Path
) -> None:
    """A mirror that has read the file list, asked for a file another upload has just
    overwritten, gives the bytes its list names (where the server keeps versions); without
    versions it refuses that file rather than serve other bytes."""
    url = f"s3://{server_bucket}/live"
    v1 = study(1, tag="v1")
    src = tree(tmp_path / "src", v1)
    sync(src, url)
    changed = "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz"
    mirror = Mirror(url)
    assert changed in mirror.study.index.by_path  # the file list is read now
    tree(src, {changed: os.urandom(len(v1[changed]))})
    sync(src, url)
    try:
        got: bytes | str = mirror.path(changed).read_bytes()
    except (IntegrityError, ConflictError) as exc:
        got = f"refused: {exc}"
    if server.traits.versioning or isinstance(got, bytes):
        assert got == v1[changed], "the mirror served bytes its file list does not name"


def test_read_after_a_lost_race(server: S3Endpoint, server_bucket: str, tmp_path: Path) -> None:
    """Two writers change the same file; the loser's object is the newest, yet the manifest
    names the winner's. A reader gets the bytes the manifest names, or (without versions)
    a refusal for that file — never the loser's bytes under a manifest that says otherwise."""
    url = f"s3://{server_bucket}/lost"
    base = study(1)
    shared = "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz"
    sync(tree(tmp_path / "base", base), url)
    a = tree(tmp_path / "a", {**base, shared: os.urandom(9000)})
    b = tree(tmp_path / "b", {**base, shared: os.urandom(9000)})
    try:
        sync(b, url, on_plan=lambda _: sync(a, url))
    except ConflictError:
        pass  # B lost: its object went up after A's, but the manifest is A's
    m = read_manifest(open_store(url))
    assert m is not None
    named = {p: m[p].sha256 for p in m}
    copy = tmp_path / "copy"
    refused = _download(url, copy)
    if server.traits.versioning:
        assert refused == [], f"the reader was refused: {refused}"
    else:
        assert refused in ([], [shared]), refused
    _copy_matches_manifest(copy, named, refused)


# -- layouts written by other tools -------------------------------------------------------------


def _console_layout(server: S3Endpoint, bucket: str) -> tuple[dict[str, bytes], list[str]]:
    """A bucket written with a console: folder markers, then files; the files and markers."""
    client = server.client()
    files = {
        "README": b"made in a console",
        "sub-01/anat/sub-01_T1w.nii.gz": os.urandom(5000),
        "sub-01/anat/sub-01_T1w.json": b"{}",
    }
    if server.traits.folder_markers:
        # As a console does: the folders first, then the files into them; one stays empty.
        markers = ["sub-01/", "sub-01/anat/", "derivatives/"]
    else:
        # rclone keeps ``dir/`` as a zero-byte file ``dir`` and refuses keys below it, so
        # only a marker with nothing below it can exist there (listed as an object ``dir``).
        markers = ["derivatives/"]
    for key in markers:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    for key, data in files.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    return files, markers


def test_folder_markers_sync_down(
    server: S3Endpoint, server_bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zero-byte ``dir/`` objects (what S3 consoles create for "new folder") in a bucket
    written by another tool: downloaded as folders, never as files, never a clash."""
    files, markers = _console_layout(server, server_bucket)
    url = f"s3://{server_bucket}"
    copy = tmp_path / "copy"
    code, out, err = cli(capsys, "sync", url, str(copy))
    assert code == 0, out + err
    assert "clashes" not in err
    got = files_of(copy)
    assert {k: got.get(k) for k in files} == files
    if server.traits.folder_markers:
        assert got == files, f"markers came down as files: {sorted(set(got) - set(files))}"
        for marker in markers:
            assert (copy / marker).is_dir()
    code, out, err = cli(capsys, "sync", url, str(copy), "--json")
    assert code == 0, out + err
    assert json.loads(out)["transferred"] == 0


# rclone cannot keep a marker as such: it stores ``dir/`` as the zero-byte object ``dir``
# (see tests/servers.py), so there is no folder left for brainbucket to list.
@pytest.mark.parametrize("server", ["seaweedfs", "moto"], indirect=True)
def test_folder_markers_listed_as_folders(
    server: S3Endpoint, server_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ls` shows a folder marker as the folder it stands for, never as an object."""
    files, _ = _console_layout(server, server_bucket)
    url = f"s3://{server_bucket}"
    code, out, err = cli(capsys, "ls", url, "--json")
    assert code == 0, err
    paths = sorted(json.loads(line)["path"] for line in out.splitlines())
    assert paths == ["README", "derivatives/", "sub-01/"], paths
    code, out, err = cli(capsys, "ls", "-r", "--json", url)
    assert code == 0, err
    listed = sorted(json.loads(line)["path"] for line in out.splitlines())
    assert listed == sorted(files), "a folder marker was listed as a file"
