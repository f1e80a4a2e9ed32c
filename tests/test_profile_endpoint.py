"""A profile's ``endpoint_url`` in the AWS config reaches the lab's server, everywhere.

A lab keeps its server in ``~/.aws/config`` and its keys in ``~/.aws/credentials``::

    [profile lab]
    endpoint_url = http://127.0.0.1:PORT
    region = us-east-1

Then ``--profile lab`` (or ``profile="lab"``) is all any command or API call needs: no
``--endpoint-url``, no ``BRAINBUCKET_ENDPOINT_URL``, no keys in the environment. Each test runs
one command in-process and checks what it did on the server (or on disk) with a store opened
with the endpoint spelled out, so a check never rests on the behaviour under test.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import brainbucket
from brainbucket import open_store, read_manifest
from brainbucket._demo import build_demo_study
from brainbucket.cli import run
from brainbucket.server import LocalServer
from brainbucket.store import S3Store, Store

PROFILE = "lab"
# The same server under another spelling of its address: another endpoint, for the mirror.
ALIAS_PROFILE = "lab-by-name"

FILES = {
    "README": b"the lab's study\n",
    "sub-01/anat/sub-01_T1w.nii.gz": b"t1" * 500,
    "sub-02/dwi/sub-02_dwi.nii.gz": b"dwi" * 700,
    "sub-02/dwi/with space+plus.json": b"{}",
}


@contextlib.contextmanager
def _as_admin(server: LocalServer) -> Iterator[None]:
    """The admin's keys and the endpoint in the environment (set-up outside any test)."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in server.env().items():
            mp.setenv(k, v)
        yield


def _new_bucket(server: LocalServer, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with _as_admin(server):
        store = open_store(f"s3://{name}")
        assert isinstance(store, S3Store)
        store.create_bucket()
        # A new bucket's first write allocates its storage (about a second): pay it here.
        store.write_bytes(".warm", b"")
        store.delete(".warm")
    return name


@pytest.fixture(scope="module")
def lab_bucket(s3_server: LocalServer) -> str:
    """One versioned bucket for this module; each test works under its own prefix."""
    return _new_bucket(s3_server, "lab")


@dataclass
class Lab:
    server: LocalServer
    endpoint: str
    alias_endpoint: str
    bucket: str
    prefix: str
    cache: Path

    @property
    def url(self) -> str:
        """``s3://bucket/prefix`` private to this test."""
        return f"s3://{self.bucket}/{self.prefix}"

    def direct(self, url: str | None = None) -> Store:
        """A store with the endpoint spelled out: to seed and to check, never under test."""
        return open_store(url or self.url, profile=PROFILE, endpoint_url=self.endpoint)

    def seed(self, files: dict[str, bytes] = FILES) -> Store:
        store = self.direct()
        for key, body in files.items():
            store.write_bytes(key, body)
        return store


@pytest.fixture
def lab(
    s3_server: LocalServer, lab_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Lab:
    """A user whose server and keys live only in the AWS files, under profile ``lab``."""
    for k in list(os.environ):
        if k.startswith("AWS_") or k in ("BRAINBUCKET_ENDPOINT_URL", "BRAINBUCKET_STORE"):
            monkeypatch.delenv(k)
    endpoint = s3_server.endpoint_url
    alias = endpoint.replace("://127.0.0.1:", "://localhost:")
    assert alias != endpoint
    admin = s3_server.admin
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "config").write_text(
        f"[profile {PROFILE}]\nendpoint_url = {endpoint}\nregion = us-east-1\n\n"
        f"[profile {ALIAS_PROFILE}]\nendpoint_url = {alias}\nregion = us-east-1\n"
    )
    (aws / "credentials").write_text(
        "".join(
            f"[{name}]\naws_access_key_id = {admin.access_key}\n"
            f"aws_secret_access_key = {admin.secret_key}\n\n"
            for name in (PROFILE, ALIAS_PROFILE)
        )
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    cache = tmp_path / "cache"
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(cache))
    return Lab(s3_server, endpoint, alias, lab_bucket, f"t-{uuid.uuid4().hex[:10]}", cache)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def _files(root: Path) -> dict[str, bytes]:
    """Data files below ``root``: a downloaded study also holds its manifest in .brainbucket/."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".brainbucket" not in p.relative_to(root).parts
    }


def _seed_demo(lab: Lab, tmp_path: Path) -> Path:
    """The demo BIDS study, uploaded under the test's prefix; its local copy."""
    src = build_demo_study(tmp_path / "demo", subjects=2)
    lab.seed(_files(src))
    return src


# -- browse: mb, ls, cp, cat, du, tree, rm -------------------------------------------------------


def test_mb(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"lab-mb-{uuid.uuid4().hex[:8]}"
    code, out, err = cli(capsys, "mb", f"s3://{name}", "--profile", PROFILE, "--json")
    assert code == 0, err
    assert json.loads(out) == {"bucket": name, "created": True, "versioning": "Enabled"}
    store = lab.direct(f"s3://{name}")
    assert isinstance(store, S3Store)
    assert store.versioning() == "Enabled"


def test_ls(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.seed()
    code, out, err = cli(capsys, "ls", "-r", lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["path"]: r["size"] for r in rows} == {k: len(v) for k, v in FILES.items()}
    code, out, err = cli(capsys, "ls", lab.url, "--profile", PROFILE)
    assert code == 0, err
    assert {line.split()[-1] for line in out.splitlines()} == {"README", "sub-01/", "sub-02/"}


def test_cp_up_and_down(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "notes with space.txt"
    local.write_bytes(b"uploaded with the lab profile\n")
    remote = f"{lab.url}/docs/notes.txt"
    code, _, err = cli(capsys, "cp", str(local), remote, "--profile", PROFILE)
    assert code == 0, err
    assert lab.direct().read_bytes("docs/notes.txt") == local.read_bytes()

    down = tmp_path / "down"
    down.mkdir()
    code, out, err = cli(capsys, "cp", remote, f"{down}/", "--profile", PROFILE, "--json")
    assert code == 0, err
    assert json.loads(out)["size"] == local.stat().st_size
    assert (down / "notes.txt").read_bytes() == local.read_bytes()
    assert os.listdir(down) == ["notes.txt"]


def test_cat(lab: Lab, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    lab.seed()
    code = run(["cat", f"{lab.url}/sub-02/dwi/with space+plus.json", "--profile", PROFILE])
    out, err = capsysbinary.readouterr()
    assert code == 0, err
    assert out == FILES["sub-02/dwi/with space+plus.json"]


def test_du(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.seed()
    code, out, err = cli(capsys, "du", lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["total"]["count"], doc["total"]["size"]) == (
        len(FILES),
        sum(len(v) for v in FILES.values()),
    )
    assert {r["path"]: r["count"] for r in doc["children"]} == {
        "README": 1,
        "sub-01/": 1,
        "sub-02/": 2,
    }


def test_tree(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.seed()
    code, out, err = cli(capsys, "tree", lab.url, "--depth", "3", "--profile", PROFILE, "--json")
    assert code == 0, err
    paths = {e["path"] for e in json.loads(out)}
    assert set(FILES) <= paths
    code, out, err = cli(capsys, "tree", lab.url, "--profile", PROFILE)
    assert code == 0, err
    assert "sub-02/" in out


def test_rm(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    store = lab.seed()
    code, _, err = cli(capsys, "rm", f"{lab.url}/README", "--profile", PROFILE)
    assert code == 0, err
    assert sorted(o.path for o in store.walk()) == sorted(set(FILES) - {"README"})
    code, out, err = cli(
        capsys, "rm", "-r", f"{lab.url}/sub-02", "--yes", "--profile", PROFILE, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["count"] == 2
    assert [o.path for o in store.walk()] == ["sub-01/anat/sub-01_T1w.nii.gz"]


# -- sync, status, verify ------------------------------------------------------------------------


def test_sync_up_and_down(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_tree(tmp_path / "src", FILES)
    code, out, err = cli(capsys, "sync", str(src), lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    assert json.loads(out)["transferred"] == len(FILES)
    manifest = read_manifest(lab.direct(), cache=False)
    assert manifest is not None
    assert sorted(e.path for e in manifest.entries()) == sorted(FILES)

    dest = tmp_path / "down"
    code, out, err = cli(capsys, "sync", lab.url, str(dest), "--profile", PROFILE, "--json")
    assert code == 0, err
    assert json.loads(out)["transferred"] == len(FILES)
    assert _files(dest) == FILES


def test_status(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_tree(tmp_path / "src", FILES)
    brainbucket.sync(src, lab.url, endpoint_url=lab.endpoint, profile=PROFILE)
    (src / "README").write_bytes(b"changed\n")
    code, out, err = cli(capsys, "status", str(src), lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    assert [(a["action"], a["path"]) for a in json.loads(out)["actions"]] == [("upload", "README")]


def test_verify(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write_tree(tmp_path / "src", FILES)
    brainbucket.sync(src, lab.url, endpoint_url=lab.endpoint, profile=PROFILE)
    code, out, err = cli(capsys, "verify", lab.url, "--profile", PROFILE)
    assert code == 0, err
    assert f"ok: {len(FILES)} files checked" in out
    lab.direct().write_bytes("README", b"altered\n")  # the same key, other bytes
    code, out, err = cli(capsys, "verify", lab.url, "--profile", PROFILE, "--json")
    # The recorded version is intact and is what reads fetch: superseded, not damage.
    assert code == 0, err
    assert json.loads(out)["superseded"] == ["README"]


# -- the mirror: get, mirror status|verify|gc -----------------------------------------------------

GET_DWI = ("--subject", "01", "--datatype", "dwi", "--pipeline", "raw")


def _get(lab: Lab, capsys: pytest.CaptureFixture[str], *extra: str) -> list[Path]:
    code, out, err = cli(capsys, "get", lab.url, *GET_DWI, "--profile", PROFILE, *extra)
    assert code == 0, err
    return [Path(line) for line in out.splitlines()]


def test_get(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _seed_demo(lab, tmp_path)
    paths = _get(lab, capsys)
    expected = sorted(k for k in _files(src) if k.startswith("sub-01/ses-01/dwi/"))
    assert [p.as_posix().split("/files/", 1)[1] for p in paths] == expected
    for p, key in zip(paths, expected, strict=True):
        assert p.read_bytes() == (src / key).read_bytes()
        assert p.is_relative_to(lab.cache)


def test_get_uses_the_cache_of_the_profiles_endpoint(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The profile's endpoint names the mirror, as if it had been given with --endpoint-url:
    the same server and bucket are one mirror, fetched once."""
    _seed_demo(lab, tmp_path)
    by_profile = _get(lab, capsys)
    spelled_out = _get(lab, capsys, "--endpoint-url", lab.endpoint)
    assert spelled_out == by_profile


def test_mirror_status(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed_demo(lab, tmp_path)
    paths = _get(lab, capsys)
    code, out, err = cli(capsys, "mirror", "status", lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    (row,) = json.loads(out)["mirrors"]
    assert row["url"] == lab.url
    assert row["endpoint"] == lab.endpoint
    assert row["files"] == len(paths)
    assert row["size"] == sum(p.stat().st_size for p in paths)
    assert all(p.is_relative_to(row["root"]) for p in paths)


def test_mirror_verify(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed_demo(lab, tmp_path)
    paths = _get(lab, capsys)
    code, out, err = cli(capsys, "mirror", "verify", lab.url, "--profile", PROFILE)
    assert code == 0, err
    assert f"{len(paths)} files checked, 0 damaged" in out


def test_mirror_gc(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed_demo(lab, tmp_path)
    paths = _get(lab, capsys)
    code, out, err = cli(
        capsys, "mirror", "gc", lab.url, "--max-size", "0", "--profile", PROFILE, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["removed"] == len(paths)
    assert not any(p.exists() for p in paths)


# -- study ---------------------------------------------------------------------------------------


def test_study(lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _seed_demo(lab, tmp_path)
    code, out, err = cli(
        capsys, "study", lab.url, "--subject", "02", "--profile", PROFILE, "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    local = _files(src)
    assert doc["subjects"] == ["01", "02"]
    assert (doc["files"], doc["size"]) == (len(local), sum(len(v) for v in local.values()))
    assert doc["selection"]["subjects"] == ["02"]


# -- access: publish, access, share, doctor ------------------------------------------------------


def test_publish_and_access(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.seed()
    code, out, err = cli(capsys, "access", lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is False
    code, _, err = cli(capsys, "publish", lab.url, "--profile", PROFILE)
    assert code == 0, err
    try:
        code, out, err = cli(capsys, "access", lab.url, "--profile", PROFILE, "--json")
        assert code == 0, err
        assert json.loads(out)["public"] is True
        # anyone, without keys, reads it from the lab's server
        with urllib.request.urlopen(f"{lab.endpoint}/{lab.bucket}/{lab.prefix}/README") as r:
            assert r.read() == FILES["README"]
    finally:
        code, out, err = cli(capsys, "unpublish", lab.url, "--profile", PROFILE, "--json")
    assert code == 0, err
    assert json.loads(out)["public"] is False


def test_share(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    lab.seed()
    code, out, err = cli(capsys, "share", f"{lab.url}/README", "--profile", PROFILE)
    assert code == 0, err
    link = out.strip()
    assert link.startswith(f"{lab.endpoint}/")
    with urllib.request.urlopen(link, timeout=10) as r:
        assert r.read() == FILES["README"]


def test_doctor(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "doctor", f"s3://{lab.bucket}", "--profile", PROFILE, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["endpoint"].rstrip("/") == lab.endpoint
    assert report["profile"] == PROFILE
    assert report["credential_source"] == "shared-credentials-file"
    assert report["access_key_id"] == lab.server.admin.access_key
    assert report["bucket_exists"] is True
    assert lab.server.admin.secret_key not in out


# -- assemblies ----------------------------------------------------------------------------------


def test_assembly_upload_list_load(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"{lab.url}/catalog"
    data = tmp_path / "responses.bin"
    data.write_bytes(os.urandom(3000))
    args = ("--store", store, "--profile", PROFILE, "--json")
    code, out, err = cli(capsys, "assembly", "upload", str(data), "lab.responses", *args)
    assert code == 0, err
    record = json.loads(out)
    assert record["version_id"]
    assert "catalog/" in " ".join(o.path for o in lab.direct().walk())

    code, out, err = cli(capsys, "assembly", "list", *args)
    assert code == 0, err
    assert [(e["identifier"], e["versions"]) for e in json.loads(out)] == [("lab.responses", 1)]

    # The path alone goes to stdout (with --json, "path" is the record's key in the store).
    code, out, err = cli(
        capsys, "assembly", "load", "lab.responses", "--sha1", record["sha1"], *args[:-1]
    )
    assert code == 0, err
    assert record["version_id"] in err
    assert Path(out.strip()).read_bytes() == data.read_bytes()
    assert Path(out.strip()).is_relative_to(lab.cache)


# -- hcp -----------------------------------------------------------------------------------------

HCP_SUBJECTS = ("100206", "100307")
HCP_DWI = ("data.nii.gz", "bvals", "bvecs", "nodif_brain_mask.nii.gz")


@pytest.fixture(scope="module")
def hcp_bucket(s3_server: LocalServer) -> str:
    """A tiny bucket laid out as HCP's open-access one: two subjects' diffusion data."""
    name = _new_bucket(s3_server, "lab-hcp")
    with _as_admin(s3_server):
        store = open_store(f"s3://{name}")
        for s in HCP_SUBJECTS:
            for f in HCP_DWI:
                store.write_bytes(f"HCP_1200/{s}/T1w/Diffusion/{f}", f"{s}/{f}\n".encode())
    return name


def test_hcp_ls(lab: Lab, hcp_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--bucket", hcp_bucket, "--profile", PROFILE, "--json")
    code, out, err = cli(capsys, "hcp", "ls", *args)
    assert code == 0, err
    assert json.loads(out) == {
        "release": "HCP_1200",
        "count": len(HCP_SUBJECTS),
        "subjects": list(HCP_SUBJECTS),
    }
    code, out, err = cli(capsys, "hcp", "ls", "100206", "--kinds", "dwi", *args)
    assert code == 0, err
    keys = sorted(f["key"] for f in json.loads(out)["files"])
    assert keys == sorted(f"HCP_1200/100206/T1w/Diffusion/{f}" for f in HCP_DWI)


# -- the Python API ------------------------------------------------------------------------------


def test_python_api(lab: Lab, tmp_path: Path) -> None:
    store = open_store(lab.url, profile=PROFILE)
    store.write_bytes("api/hello.txt", b"hello")
    assert lab.direct().read_bytes("api/hello.txt") == b"hello"
    assert store.read_bytes("api/hello.txt") == b"hello"

    src = build_demo_study(tmp_path / "demo", subjects=2)
    study_url = f"{lab.url}/study"
    up = brainbucket.sync(src, study_url, profile=PROFILE)
    assert up.transferred == len(_files(src))
    down = brainbucket.sync(study_url, tmp_path / "down", profile=PROFILE)
    assert down.transferred == len(_files(src))
    assert _files(tmp_path / "down") == _files(src)

    study = brainbucket.Study(study_url, profile=PROFILE)
    assert study.subjects() == ["01", "02"]

    mirror = brainbucket.Mirror(study_url, profile=PROFILE)
    path = mirror.path("participants.tsv")
    assert path.read_bytes() == (src / "participants.tsv").read_bytes()
    assert path.is_relative_to(lab.cache)
    spelled_out = brainbucket.Mirror(study_url, profile=PROFILE, endpoint_url=lab.endpoint)
    assert spelled_out.root == mirror.root  # one server, one bucket: one mirror


def test_two_endpoints_are_two_mirrors(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same bucket name reached through two profiles naming two endpoints is two studies
    as far as the cache knows: two folders, never one shared by both."""
    _seed_demo(lab, tmp_path)
    one = brainbucket.Mirror(lab.url, profile=PROFILE)
    other = brainbucket.Mirror(lab.url, profile=ALIAS_PROFILE)
    assert one.root != other.root

    first = _get(lab, capsys)
    code, out, err = cli(capsys, "get", lab.url, *GET_DWI, "--profile", ALIAS_PROFILE)
    assert code == 0, err
    second = [Path(line) for line in out.splitlines()]
    assert [p.read_bytes() for p in second] == [p.read_bytes() for p in first]
    assert {p.parent for p in first}.isdisjoint(p.parent for p in second)
    code, out, err = cli(capsys, "mirror", "status", "--json")
    assert code == 0, err
    rows = json.loads(out)["mirrors"]
    assert sorted(r["endpoint"] for r in rows) == sorted([lab.endpoint, lab.alias_endpoint])
